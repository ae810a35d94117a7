"""A command that runs as a child process (``datagen compact`` runs ``python -m splitters.compact``: datagen
never imports splitters) and behaves as if it ran in this process.

* The child dies with us: on Linux it asks the kernel for SIGTERM when its parent dies (prctl
  PR_SET_PDEATHSIG), so even a ``kill -9`` of this process stops it, and it rolls back as for any
  SIGTERM (or, past its commit, reports it). Elsewhere (macOS) nothing ties it to us.
* It runs in its own session, so a terminal's Ctrl-C reaches it once, from us: SIGINT, SIGTERM and
  SIGHUP sent to this process are forwarded to the child, and we wait for it (it cleans up; never a SIGKILL).
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


def run_child(argv: list[str]) -> tuple[int, str, str]:
    """Run ``argv`` to its end, forwarding our SIGINT/SIGTERM/SIGHUP to it; (exit status, stdout, stderr)."""
    main = threading.current_thread() is threading.main_thread()
    proc: subprocess.Popen | None = None
    pending: list[int] = []
    forwarded: set[int] = set()

    def forward(signum, frame) -> None:
        forwarded.add(signum)
        if proc is None:
            pending.append(signum)
        elif proc.poll() is None:
            try:
                os.kill(proc.pid, signum)
            except ProcessLookupError:
                pass

    previous = {s: signal.signal(s, forward) for s in FORWARDED} if main else {}
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, preexec_fn=_die_with(os.getpid()))
        for signum in pending:
            forward(signum, None)
        out, err = proc.communicate()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
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
