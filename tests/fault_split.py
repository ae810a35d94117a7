"""Run ``split-datasets`` (arguments as on its command line) with a fault hook before
every filesystem change the process makes (create/open for writing, write, mkdir,
rename/replace, unlink, rmdir), for the fault-injection and locking tests.

Environment:
  FAULT_LOG=FILE        append "N op path" for every change (to choose kill points)
  FAULT_KILL_AT=N       SIGKILL this process just before its Nth change
  FAULT_PAUSE_AT=N      before the Nth change create FAULT_PAUSE_DIR/paused and
  FAULT_PAUSE_DIR=DIR   wait until FAULT_PAUSE_DIR/go exists

Nothing is faked: the real split runs and the kill is a real SIGKILL.
"""

import builtins
import io
import os
import signal
import sys
import threading
import time

_real_open = builtins.open
_lock = threading.Lock()
_count = 0
_log = _real_open(os.environ["FAULT_LOG"], "a", buffering=1) if os.environ.get("FAULT_LOG") else None
_kill_at = int(os.environ.get("FAULT_KILL_AT", "0"))
_pause_at = int(os.environ.get("FAULT_PAUSE_AT", "0"))
_pause_dir = os.environ.get("FAULT_PAUSE_DIR", "")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _tick(op, path):
    global _count
    with _lock:
        _count += 1
        n = _count
        if _log is not None:
            _log.write(f"{n} {op} {path}\n")
    if n == _kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    if n == _pause_at:
        _real_open(os.path.join(_pause_dir, "paused"), "w").close()
        while not os.path.exists(os.path.join(_pause_dir, "go")):
            time.sleep(0.02)


def _wrap(module, name, op, test=lambda *a, **k: True):
    real = getattr(module, name)

    def hooked(*args, **kwargs):
        if test(*args, **kwargs):
            _tick(op, args[0] if args else "")
        return real(*args, **kwargs)

    setattr(module, name, hooked)


def _writing_mode(file, mode="r", *args, **kwargs):
    return any(c in mode for c in "wax+")


for _name in ("replace", "rename", "unlink", "remove", "rmdir", "mkdir", "write", "pwrite", "ftruncate"):
    _wrap(os, _name, _name)
_wrap(os, "open", "open", lambda path, flags, *a, **k: bool(flags & _WRITE_FLAGS))
_wrap(builtins, "open", "open", _writing_mode)
_wrap(io, "open", "open", _writing_mode)

import pyarrow as pa  # noqa: E402

_wrap(pa, "OSFile", "arrow-open", lambda path, mode="rb", *a, **k: "w" in mode or "a" in mode)

if __name__ == "__main__":
    from splitters.cli import main

    main(sys.argv[1:], prog_name="split-datasets")
