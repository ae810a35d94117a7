"""A command that runs as a child process (``datagen compact`` runs ``python -m splitters.compact``: datagen
never imports splitters) and behaves as if it ran in this process.

* The child dies with us: on Linux it asks the kernel for SIGTERM when its parent dies (prctl
  PR_SET_PDEATHSIG), so even a ``kill -9`` of this process stops it, and it rolls back as for any
  SIGTERM (or, past its commit, reports it). Elsewhere (macOS) nothing ties it to us.
* It runs in its own session, so a terminal's Ctrl-C reaches it once, from us: SIGINT, SIGTERM and
  SIGHUP sent to this process are forwarded to the child, and we wait for it (it cleans up; never a SIGKILL).
  A signal that arrives before the child says it handles signals (``tell_parent_ready``, on a pipe whose
  descriptor it finds in ``READY_FD_ENV``) is held until it does: a SIGINT while its interpreter starts
  would end it with "Fatal Python error: init_import_site" (exit 1), or a traceback during its imports.
  A child that never says so (it failed first) gets no signal from us.
* Its outcome is ours: its stdout, stderr and exit status (a child killed by signal N: 128 + N, said as
  ``report_errors`` says it when the signal was ours to forward, as an error otherwise).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading

from datagen.contract.cli_edge import READY_FD_ENV

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1


def _die_with(parent: int):
    """preexec_fn: SIGTERM to the child when ``parent`` dies (Linux); if it died already, end at once.
    libc is loaded here, in the parent: the forked child only makes the call (no dlopen after a fork)."""
    prctl = None
    if sys.platform.startswith("linux"):
        try:
            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            pass

    def arm() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(128 + signal.SIGTERM)
    return arm


def run_child(argv: list[str], ignore_after: bool = False) -> tuple[int, str, str]:
    """Run ``argv`` to its end, forwarding our SIGINT/SIGTERM/SIGHUP to it once it is ready for them;
    (exit status, stdout, stderr). ``ignore_after``: once the child has ended, ignore those signals instead
    of restoring our earlier handlers (a command about to print the child's outcome and exit with it: a
    Ctrl-C then would end us with a KeyboardInterrupt after the child committed)."""
    main = threading.current_thread() is threading.main_thread()
    proc: subprocess.Popen | None = None
    ready = [False]
    pending: list[int] = []
    forwarded: set[int] = set()
    lock = threading.RLock()   # ``ready`` and ``pending``: the main thread's handler and the waiting thread

    def send(signum: int) -> None:
        if proc is not None and proc.poll() is None:
            try:
                os.kill(proc.pid, signum)
            except ProcessLookupError:
                pass

    def forward(signum, frame) -> None:
        forwarded.add(signum)
        with lock:
            if not ready[0]:
                pending.append(signum)
                return
        send(signum)

    def await_ready(fd: int) -> None:
        try:
            said = os.read(fd, 1) == b"1"   # b"" when the child ended without saying it
        except OSError:
            said = False
        finally:
            os.close(fd)
        with lock:
            ready[0] = said
            held = pending[:] if said else []
            pending.clear()
        for signum in held:
            send(signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED} if main else {}
    read_end, write_end = os.pipe()
    try:
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True, preexec_fn=_die_with(os.getpid()), pass_fds=(write_end,),
                                    env={**os.environ, READY_FD_ENV: str(write_end)})
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)   # the child's copy is the only one: its end is our end of file
        waiter = threading.Thread(target=await_ready, args=(read_end,), name="datagen-child-ready", daemon=True)
        waiter.start()
        out, err = proc.communicate()
        waiter.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_IGN if ignore_after else handler)
    code = proc.returncode
    if code < 0 and -code in forwarded:  # ended by the signal we passed on before it could handle it
        err += "interrupted\n" if -code == signal.SIGINT else f"terminated ({signal.Signals(-code).name})\n"
        code = 128 - code
    elif code < 0:
        name = signal.Signals(-code).name
        err += f"error: the {argv[2] if len(argv) > 2 else argv[0]} process was killed by {name}; " \
               "the dataset is as its journal leaves it (the next writer recovers it)\n"
        code = 128 - code
    return code, out, err
