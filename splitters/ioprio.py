"""The disk priority of a background writer thread: idle (``IOPRIO_CLASS_IDLE``).

The stage step reads the sources and writes the staged files on the same disk. When the sources are
not all in the page cache (a table larger than memory, or one another program pushed out), the stage
tasks wait for their reads while the staged files' writes, from one background thread
(staged_writes.py), fill the disk's queue: at 100M rows the tasks spent ~20 s of thread time waiting
for source pages. A thread that only writes what nothing waits for yet asks the kernel to serve it
when no other request of this machine is pending; Linux's I/O schedulers (mq-deadline, bfq) honour the
class and age an idle request into service after a few seconds, so it is never starved. The bytes
written are the same either way. Elsewhere (another OS, an unknown architecture, a refusal) the
thread keeps its priority: only the order in which the disk serves requests changes."""

from __future__ import annotations

import ctypes
import platform
import sys

_IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "arm64": 30, "riscv64": 30}   # syscall numbers
_WHO_THREAD, _CLASS_IDLE, _CLASS_SHIFT = 1, 3, 13


def idle_io() -> bool:
    """Give the calling thread the idle disk-priority class; False where that is not possible."""
    number = _IOPRIO_SET.get(platform.machine())
    if number is None or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syscall(number, _WHO_THREAD, 0, _CLASS_IDLE << _CLASS_SHIFT) == 0
    except (OSError, AttributeError):
        return False
