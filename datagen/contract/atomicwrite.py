"""Writing a file atomically: a temporary file beside it, then one rename (the manifest, version records,
resume states)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

STALE_SECONDS = 60  # a temporary file this old whose writer is gone is left over from a killed write


def sweep_stale_temporaries(path: Path) -> None:
    """Remove the temporary files a killed ``atomic_write_text`` of ``path`` left beside it: only names
    this module makes (``.<name>.<pid>.<12 hex>.tmp``), whose process no longer runs, untouched for
    STALE_SECONDS. Anything else, and any file that cannot be removed, is left alone."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.[0-9a-f]{{12}}\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        m = pattern.fullmatch(name)
        if not m or int(m.group(1)) == os.getpid() or _running(int(m.group(1))):
            continue
        try:
            stale = path.parent / name
            if time.time() - os.lstat(stale).st_mtime > STALE_SECONDS:
                os.unlink(stale)
        except OSError:
            pass


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or a pid this system cannot name: not ours to judge
    return True


def atomic_write_text(path: str | os.PathLike, text: str | bytes, durable: bool = False,
                      tmp_name: str | None = None) -> None:
    """Write ``text`` (UTF-8; or its bytes) to a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic: readers see the old file or the new one, never a part. The
    file is created with mode 0666 minus the umask, like any other file the process
    writes (not mkstemp's 0600). ``tmp_name`` fixes the temporary file's name (a caller
    that holds a lock and journals that name, so a killed write can be cleaned up);
    otherwise a fresh unique name is used. With ``durable`` the file is fsync'ed first
    (on ext4 that also flushes every other dirty file, which costs seconds right after
    writing a dataset)."""
    path = Path(path)
    if tmp_name is not None:
        tmp = path.parent / tmp_name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    else:
        while True:
            tmp = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
                break
            except FileExistsError:
                continue
    try:
        with (os.fdopen(fd, "wb") if type(text) is bytes else os.fdopen(fd, "w", encoding="utf-8")) as fh:
            fh.write(text)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
