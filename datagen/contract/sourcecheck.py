"""Has a source file changed since the split recorded it? One rule (``source_change``) for every caller.

The manifest records each source's size, mtime and sha256. A local file is the one the split read
when it has the same size and the same sha256: another size is a change (nothing is hashed); the
same size and mtime is taken as the same sha256 (one ``stat``, the fast path); the same size with
another mtime (a copy moved over it, a re-download, ``touch``) is hashed and compared. A caller that
holds the file's sha256 already compares it in every case. ``splitters/uptodate.py`` (is a rerun up
to date?), ``splitters/publish.py`` (does an ``--overwrite`` change anything?) and
``splitters/append_rules.py`` (a changed file at a known path) use it, and so does this module:

Provenance names source rows by (file, row number) of each file *as it was split*; when a local file
has changed (or is gone), re-reading it by those row numbers gives other rows, so ``datagen
provenance``, ``gen.provenance`` and ``datagen verify`` say so (a note, not an error: the dataset and
its lineage are intact, the file is not). Only local files are looked at; object-store sources would
cost a request each and are not contacted."""

from __future__ import annotations

import datetime as _dt
import os
from typing import Callable, Iterable

from .format import Manifest, SourceEntry
from .hashing import sha256_file
from .storage import is_remote


def _mtime(seconds: float) -> str:
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc).isoformat()  # as splitters/sources.py records it


def source_change(entry: SourceEntry, size: int, mtime: str | None,
                  digest: str | Callable[[], str | None] | None) -> str | None:
    """None when a file of ``size`` bytes modified at ``mtime`` holds what ``entry`` records, else what
    differs ("another size" or "another sha256"). ``digest``: the file's sha256 when known (always
    compared), or a function computing it (called only for the same size with another mtime)."""
    if size != entry.bytes:
        return "another size"
    if not isinstance(digest, str):
        if entry.mtime is None or mtime == entry.mtime:
            return None
        digest = digest() if digest is not None else None
    return None if digest == entry.sha256 else "another sha256"


_HASHED: dict[tuple, str | None] = {}   # (path, size, mtime, ctime, inode) -> sha256: one hash per file state


def _local_digest(path: str, st: os.stat_result) -> str | None:
    key = (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)  # any write moves ctime
    if key not in _HASHED:
        if len(_HASHED) >= 256:
            _HASHED.clear()
        try:
            _HASHED[key] = sha256_file(path)
        except OSError:
            return None
    return _HASHED[key]


def changed_sources(manifest: Manifest, ids: Iterable[int] | None = None) -> list[str]:
    """One line per local source (of ``ids``; default all) whose file is gone or changed
    (``source_change``: another size, or the same size, another mtime and another sha256)."""
    wanted = None if ids is None else {int(i) for i in ids}
    lines = []
    for s in manifest.sources:
        if (wanted is not None and s.id not in wanted) or is_remote(s.path):
            continue
        try:
            st = os.stat(s.path)
        except OSError:
            lines.append(f"source {s.id} {s.path!r} is gone: its rows named here cannot be re-read "
                         f"(the split read {s.bytes:,} bytes, sha256 {s.sha256[:12]}…)")
            continue
        if source_change(s, st.st_size, _mtime(st.st_mtime), lambda: _local_digest(s.path, st)) is not None:
            lines.append(f"source {s.id} {s.path!r} changed since it was split ({st.st_size:,} bytes modified "
                         f"{_mtime(st.st_mtime)}, the split read {s.bytes:,} bytes modified {s.mtime}): its "
                         f"row numbers name rows of the file as it was (sha256 {s.sha256[:12]}…), not as it is")
    return lines
