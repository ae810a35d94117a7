"""The split's write-ahead journal, ``DIR/.datagen-journal``: what this split wrote.

It is an append-only file of JSON lines, each written by one ``os.write`` before
the change it announces: first a header (ours: tool tag, version, pid, the
staging directory and the manifest's temporary name), then, before any shard is
moved into place, one ``publish`` record listing every shard path and directory
and version record the split is about to create, the sha256 of the manifest it is
about to commit and the old shards that the commit makes obsolete (none since
versions: an old version keeps its shards until ``datagen vacuum``). A line
without its newline was cut by a kill and was never acted on.

:func:`recover` finishes or undoes whatever a journal describes, and is the
single code path for a normal end, a failure and a rerun after a kill: if
``manifest.json`` is the announced one the split committed, so the obsolete old
shards are deleted; otherwise exactly the announced new paths are (shards, and
version records newer than the manifest's version). Then the
staging tree, the manifest's temporary file and the journal go. Nothing that
the current manifest lists is ever deleted, and nothing outside DIR.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from datagen.contract.errors import OutputError
from datagen.contract.hive import is_safe_relative
from datagen.contract.format import MANIFEST_NAME
from datagen.contract.manifest import read_manifest
from datagen.contract.versions import VERSIONS_DIR

from datagen.contract.outlock import LOCK_NAME

JOURNAL = ".datagen-journal"
STAGING = ".datagen-staging"
MANIFEST_TMP = ".manifest.json.tmp"
_TAG = "datagen split journal"
_HEADER = {"journal": _TAG, "version": 1, "staging": STAGING, "manifest_tmp": MANIFEST_TMP}


def _write_line(path: Path, record: dict, create: bool = False) -> None:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_CREAT | os.O_EXCL if create else 0)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, flags, 0o666)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(28, "short write to the journal (disk full?)", str(path))
    finally:
        os.close(fd)


def start(out: Path) -> None:
    """Create the journal (it must not exist) with its header."""
    _write_line(out / JOURNAL, {**_HEADER, "pid": os.getpid()}, create=True)


def announce(out: Path, manifest_sha256: str, written: list[str], dirs: list[str], obsolete: list[str],
             records: list[str] = ()) -> None:
    """Record, before any of it happens, what publishing will create (shards, directories, version
    records) and what the commit makes obsolete (nothing since versions: old versions keep their shards)."""
    _write_line(out / JOURNAL, {"publish": {"manifest_sha256": manifest_sha256, "written": written,
                                            "dirs": dirs, "obsolete": obsolete, "records": list(records)}})


def _foreign(out: Path, why: str) -> OutputError:
    return OutputError(f"--out {str(out)!r} holds {JOURNAL!r} that is not a datagen journal ({why}); "
                       "remove it or choose another directory")


_INTERNAL = {JOURNAL, STAGING, MANIFEST_TMP, MANIFEST_NAME, LOCK_NAME, VERSIONS_DIR}
_RECORD = re.compile(VERSIONS_DIR + r"/[0-9]{8}\.json")
RECORD_TMP = ".record.tmp"  # inside VERSIONS_DIR


def shard_like(rel: str, parquet: bool = True) -> bool:
    """May the journal name ``rel`` as a shard (or, without ``parquet``, a shard directory)?
    Relative, inside DIR, not one of our internal names; shards end in ``.parquet``."""
    return (is_safe_relative(rel) and rel.split("/")[0] not in _INTERNAL
            and (not parquet or rel.endswith(".parquet")))


def _paths(value, key: str, out: Path, parquet: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise _foreign(out, f"{key} is not a list of paths")
    for p in value:
        if not shard_like(p, parquet):
            raise _foreign(out, f"{key} lists {p[:80]!r}")
    return value


def read(out: Path) -> tuple[dict, dict | None] | None:
    """(header, publish record or None) of the journal in ``out``; None when there is none."""
    path = out / JOURNAL
    if not os.path.lexists(path):
        return None
    if path.is_symlink() or not path.is_file():
        raise _foreign(out, "not a regular file")
    data = path.read_bytes()
    *complete, tail = data.split(b"\n")
    if not complete:  # killed while writing the header: nothing was done after it
        prefix = json.dumps({"journal": _TAG}).encode()[:-1]
        if tail[:len(prefix)] != prefix[:len(tail)]:
            raise _foreign(out, "no header")
        return {}, None
    try:
        records = [json.loads(line.decode("utf-8")) for line in complete]
    except (UnicodeDecodeError, ValueError):
        raise _foreign(out, "a line is not JSON") from None
    header = records[0]
    if not isinstance(header, dict) or {k: header.get(k) for k in _HEADER} != _HEADER:
        raise _foreign(out, "unexpected header")
    publish = None
    for rec in records[1:]:
        if not isinstance(rec, dict) or not isinstance(rec.get("publish"), dict):
            raise _foreign(out, "unexpected record")
        publish = rec["publish"]
        if not isinstance(publish.get("manifest_sha256"), str):
            raise _foreign(out, "publish record without manifest_sha256")
        for key in ("written", "obsolete"):
            _paths(publish.get(key), key, out, parquet=True)
        _paths(publish.get("dirs"), "dirs", out, parquet=False)
        recs = publish.setdefault("records", [])
        if not isinstance(recs, list) or not all(isinstance(r, str) and _RECORD.fullmatch(r) for r in recs):
            raise _foreign(out, "records is not a list of version record names")
    return header, publish


def _inside(out_real: str, path: Path) -> bool:
    parent = os.path.realpath(path.parent)
    return parent == out_real or parent.startswith(out_real.rstrip(os.sep) + os.sep)


def _remove_file(out: Path, out_real: str, rel: str) -> None:
    path = out.joinpath(*rel.split("/"))
    if not _inside(out_real, path) or not os.path.lexists(path):
        return
    if path.is_dir() and not path.is_symlink():
        return  # we only ever listed files
    os.unlink(path)


def _rmdir_if_empty(path: Path) -> bool:
    try:
        os.rmdir(path)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _prune(out: Path, rel: str) -> None:
    """Remove the now-empty directories above a deleted shard, up to ``out``."""
    parts = rel.split("/")[:-1]
    while parts:
        if not _rmdir_if_empty(out.joinpath(*parts)):
            return
        parts.pop()


def remove_tree(path: Path) -> None:
    """Delete the staging tree; its big files are unlinked in parallel (freeing their
    page-cache pages is what takes the time)."""
    from concurrent.futures import ThreadPoolExecutor

    if path.is_symlink():
        path.unlink()
        return
    if not path.exists():
        return
    files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        list(pool.map(lambda p: p.unlink(missing_ok=True), files))
    shutil.rmtree(path)


def manifest_sha256(out: Path) -> str | None:
    path = out / MANIFEST_NAME
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recover(out: Path, written_sha256: str | None = None) -> str | None:
    """Finish or undo the split a journal in ``out`` describes; see the module docstring.
    Returns "committed", "rolled back", or None when there was no journal. ``written_sha256``: the
    sha256 of the ``manifest.json`` this process has just written under the lock (not read back)."""
    found = read(out)
    if found is None:
        return None
    _, publish = found
    out_real = os.path.realpath(out)
    outcome = "rolled back"
    # temporary files first: a half-written version record keeps _versions/ from being pruned below
    for tmp in (out / MANIFEST_TMP, out / VERSIONS_DIR / RECORD_TMP):
        if os.path.lexists(tmp) and not tmp.is_dir():
            tmp.unlink()
    if publish is not None:
        cache: list = []

        def current():  # read only when something may be deleted (a big manifest costs seconds to validate)
            if not cache:
                m = read_manifest(out) if (out / MANIFEST_NAME).exists() else None
                # a manifest from before versions has no records
                cache.append(({s.path for s in m.shards} if m else set(), (m.version or 0) if m else 0))
            return cache[0]

        if (written_sha256 or manifest_sha256(out)) == publish["manifest_sha256"]:
            outcome = "committed"
            for rel in publish["obsolete"]:
                if rel not in current()[0]:
                    _remove_file(out, out_real, rel)
                    _prune(out, rel)
        else:
            for rel in publish["written"]:
                if rel not in current()[0]:
                    _remove_file(out, out_real, rel)
            for rel in publish["records"]:  # a record no manifest names was never committed
                if int(rel[len(VERSIONS_DIR) + 1:-5]) > current()[1]:
                    _remove_file(out, out_real, rel)
            _rmdir_if_empty(out / VERSIONS_DIR)
            for rel in sorted(publish["dirs"], key=lambda d: -d.count("/")):
                path = out.joinpath(*rel.split("/"))
                if _inside(out_real, path):
                    _rmdir_if_empty(path)
    remove_tree(out / STAGING)
    (out / JOURNAL).unlink()
    return outcome
