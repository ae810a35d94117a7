"""The ``tmp/`` room of a shard cache (and reading a small cached file safely): reservations of downloads in progress, and reclaiming those
nobody will finish.

A reservation is ``tmp/<sha256>.<pid>.<8 hex>``, sized to the shard before its download starts (so
the budget counts it). Under the cache's lock, a reservation whose process is no longer alive on this
host (``kill(pid, 0)`` says no such process) is deleted, as is any file in ``tmp/`` not named that
way: a generator killed mid-download leaves nothing that blocks the next one. (A ``cache_dir`` shared
between hosts is not supported: another host's pids cannot be checked.)"""

from __future__ import annotations

import os
import re
import stat

_RESERVATION = re.compile(r"^([0-9a-f]{64})\.([0-9]+)\.([0-9a-f]{8})$")


def reservation_name(sha256: str) -> str:
    return f"{sha256}.{os.getpid()}.{os.urandom(4).hex()}"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # another user's live process
    except (ProcessLookupError, OverflowError, OSError):
        return False
    return True


def reclaim(tmp_dir: str) -> None:
    """Under the lock: delete reservations of dead processes and files not named like a reservation
    (directories and other odd entries are left alone and not counted)."""
    for name in os.listdir(tmp_dir):
        path = os.path.join(tmp_dir, name)
        m = _RESERVATION.match(name)
        if m and _alive(int(m.group(2))):
            continue
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                os.unlink(path)
        except FileNotFoundError:
            continue


def reserved(tmp_dir: str) -> tuple[int, tuple]:
    """Bytes held by the regular files in ``tmp/``, and a snapshot of them (name, size, mtime): a wait
    for room sees progress when the snapshot changes."""
    total, snap = 0, []
    for name in sorted(os.listdir(tmp_dir)):
        try:
            st = os.lstat(os.path.join(tmp_dir, name))
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
            snap.append((name, st.st_size, st.st_mtime_ns))
    return total, tuple(snap)


def read_regular(path: str) -> bytes | None:
    """The bytes of the cached file ``path``, or None when absent. Anything else at that name (a FIFO,
    a symlink, a device: opened without blocking or following) is removed, so that it is fetched
    again; a directory there is a one-line ConfigError (this cache never makes one)."""
    from .errors import ConfigError

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:  # ELOOP: a symlink
        fd = None
    try:
        mode = os.fstat(fd).st_mode if fd is not None else os.lstat(path).st_mode
        if stat.S_ISREG(mode) and fd is not None:
            with open(fd, "rb", closefd=False) as fh:
                return fh.read()
        if stat.S_ISDIR(mode):
            raise ConfigError(f"cache_dir entry {path!r} is a directory, where the cache keeps a file; remove it")
        os.unlink(path)  # not a file this cache wrote: fetch it again
        return None
    finally:
        if fd is not None:
            os.close(fd)
