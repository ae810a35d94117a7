"""Writing a file atomically: a temporary file beside it, then one rename (the manifest, version records,
resume states)."""

from __future__ import annotations

import os
from pathlib import Path


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
