"""Telling a failure to *write* the output apart from a failure to *read* an input.

Disk full, quota, read-only filesystem, or an error naming a path inside the
output directory are the output's fault; :func:`output_error` turns such an
``OSError`` into one-line :class:`OutputError` that names the directory, so
the split never blames its input for a full disk.
"""

from __future__ import annotations

import errno
import os

import pyarrow as pa

from datagen.contract.errors import OutputError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# what reading a damaged staged file back may raise: the OS, or Arrow parsing bytes that are not what was staged
STAGED_READ_ERRORS = (OSError, EOFError, ValueError, pa.ArrowException)


def _inside(path: str, directory: str) -> bool:
    try:
        path, directory = os.path.realpath(path), os.path.realpath(directory)
    except (OSError, ValueError):
        return False
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def output_error(exc: BaseException, out: str | os.PathLike) -> OutputError | None:
    """An :class:`OutputError` for ``exc`` when it is a failure to write under ``out``, else None."""
    if not isinstance(exc, OSError):
        return None
    out = str(out)
    code = exc.errno
    if code in NO_SPACE:
        return OutputError(f"no space left writing {out!r} ({os.strerror(code)})")
    if code == errno.EROFS:
        return OutputError(f"cannot write {out!r}: it is on a read-only file system")
    for name in (exc.filename, getattr(exc, "filename2", None)):
        if isinstance(name, (str, bytes, os.PathLike)) and _inside(os.fsdecode(name), out):
            reason = exc.strerror or str(exc).splitlines()[0]
            return OutputError(f"cannot write {out!r}: {reason} ({os.fsdecode(name)!r})")
    return None


def staged_read_error(exc: BaseException, path: str) -> OutputError:
    """The one-line error for a staged file of this run that cannot be read back (deleted, truncated,
    corrupt or unreadable: any of ``STAGED_READ_ERRORS``): the staging directory is the run's scratch,
    under the output directory's lock, so another process or the disk changed it."""
    code = getattr(exc, "errno", None)
    reason = os.strerror(code) if isinstance(code, int) and code else \
        next(iter(str(exc).splitlines()), "") or type(exc).__name__
    return OutputError(f"cannot read the staged file {path!r} back: {reason} (the staging directory is this "
                       "run's scratch: was it changed by another process, or is the disk failing?)")
