"""One writer at a time per dataset directory (a split, an append, ``datagen vacuum``): an exclusive ``flock`` on ``DIR/.datagen.lock``.

The lock is held for the whole split, from before the up-to-date check to after
the last clean-up, and is not waited for: a second split into the same
directory stops at once with "another split is writing DIR (pid N)" (or "datagen compact is writing ...":
a writer that is not a split names its command in the lock file). The lock
file holds our own JSON (tool name and pid) and is removed, still locked, when
the split ends; whoever opened the removed file notices (its inode no longer
is the one at the path) and tries again, so two holders can never coexist.
A lock file left by a killed split is ours and is reused. On a read-only
filesystem no lock is taken (nobody can write there; an up-to-date check still works).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import stat
import threading
import time
from pathlib import Path

from datagen.contract.errors import OutputError

LOCK_NAME = ".datagen.lock"
_TAG = "datagen split lock"


def _read(fd: int) -> bytes:
    try:
        return os.pread(fd, 4096, 0)
    except OSError:
        return b""


def _ours(data: bytes) -> bool:
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(obj, dict) and obj.get("lock") == _TAG and isinstance(obj.get("pid"), int)


def _holder(fd: int) -> tuple[str, str]:
    """(pid, who) written by the writer holding the lock (just after locking): who is "another split"
    unless it named its command (``datagen compact``, ``datagen vacuum``)."""
    for _ in range(20):
        data = _read(fd)
        if _ours(data):
            obj = json.loads(data.decode("utf-8"))
            command = obj.get("command")
            return str(obj["pid"]), command if isinstance(command, str) and command else "another split"
        time.sleep(0.05)
    return "unknown", "another split"


@contextlib.contextmanager
def _signals_deferred():
    """SIGINT, SIGTERM and SIGHUP that arrive inside are delivered on leaving (main thread, Python handlers):
    a Ctrl-C cannot fall between creating the lock file and ``self.fd`` holding it, which left an empty
    lock file behind (seen when ``datagen compact`` forwarded a Ctrl-C to its child at that moment)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    previous = {}
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        handler = signal.getsignal(s)
        if callable(handler):   # a Python handler (KeyboardInterrupt, Terminated): held; SIG_DFL/SIG_IGN as they are
            previous[s] = signal.signal(s, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in got:
            signal.raise_signal(s)


class OutLock:
    """``with OutLock(out):`` holds the exclusive lock of ``out`` (an existing directory)."""

    def __init__(self, out: Path, command: str | None = None):
        self.out = Path(out)
        self.command = command  # written into the lock file, so whoever finds it locked is told who holds it
        self.path = self.out / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        with _signals_deferred():
            self._acquire()

    def _acquire(self) -> None:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o666)
            except OSError as exc:
                if exc.errno == errno.EROFS:  # nobody can write here: nothing to exclude (reading is fine)
                    return
                raise OutputError(f"cannot lock --out {str(self.out)!r}: {exc.strerror or exc} "
                                  f"({str(self.path)!r})") from None
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or device node is not our lock file: never touch it
                os.close(fd)
                raise OutputError(f"--out {str(self.out)!r} holds {LOCK_NAME!r}, which is not a regular file and "
                                  "not datagen's; remove it or choose another directory")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid, who = _holder(fd)
                os.close(fd)
                raise OutputError(f"{who} is writing {str(self.out)!r} (pid {pid}); wait for it to finish") from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the previous holder removed the file after we opened it
                os.close(fd)
                continue
            data = _read(fd)
            if data and not _ours(data):
                os.close(fd)
                raise OutputError(f"--out {str(self.out)!r} holds a file {LOCK_NAME!r} that datagen did not write; "
                                  "remove it or choose another directory")
            try:
                os.ftruncate(fd, 0)
                mine = {"lock": _TAG, "pid": os.getpid(), **({"command": self.command} if self.command else {})}
                os.pwrite(fd, json.dumps(mine).encode() + b"\n", 0)
            except BaseException:  # e.g. disk full: leave no lock file behind (we hold the lock)
                try:
                    os.unlink(self.path)
                finally:
                    os.close(fd)
                raise
            self.fd = fd
            return

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)  # while still locked: see the module docstring
        except FileNotFoundError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "OutLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
