"""Has a source file changed since the split recorded it?

Provenance names source rows by (file, row number) of each file *as it was split*; the manifest
records each source's size, mtime and sha256. When a local file has another size or mtime now (or
is gone), re-reading it by those row numbers gives other rows, so ``datagen provenance``,
``gen.provenance`` and ``datagen verify`` say so (a note, not an error: the dataset and its lineage
are intact, the file is not). Only local files are looked at (one ``stat`` each); object-store
sources would cost a request each and are not contacted."""

from __future__ import annotations

import datetime as _dt
import os
from typing import Iterable

from .format import Manifest
from .storage import is_remote


def _mtime(seconds: float) -> str:
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc).isoformat()  # as splitters/sources.py records it


def changed_sources(manifest: Manifest, ids: Iterable[int] | None = None) -> list[str]:
    """One line per local source (of ``ids``; default all) whose file is gone or has another size or
    mtime than the manifest records."""
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
        if st.st_size != s.bytes or (s.mtime is not None and _mtime(st.st_mtime) != s.mtime):
            lines.append(f"source {s.id} {s.path!r} changed since it was split ({st.st_size:,} bytes modified "
                         f"{_mtime(st.st_mtime)}, the split read {s.bytes:,} bytes modified {s.mtime}): its "
                         f"row numbers name rows of the file as it was (sha256 {s.sha256[:12]}…), not as it is")
    return lines
