"""Dataset versions: the delta records ``DIR/_versions/<N:08d>.json`` and their replay.

Every commit (first split, append, overwrite, compaction) writes record N, then
``manifest.json`` carrying ``version: N`` (that write is the commit; a record no
manifest names yet is not committed and a rerun rewrites it). A record is small:
the manifest's fixed part ("head": config, schema, totals, version, ...), the sources
and shards it added, the shard paths it removed, and the parent version with the
sha256 of the parent's manifest. Version N is records 1..N replayed: kept shards in
their order, then the added ones; its text (and sha256) is exactly what
``manifest.json`` held while N was current. A manifest without ``version`` (written
before versions existed) is version 1 and has no records.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any, Iterator

from .errors import ConfigError, ManifestError
from . import shardtable
from .format import FORMAT_VERSION, Manifest
from .manifest import decode_manifest, manifest_from_dict, manifest_text, read_manifest_with_hash

VERSIONS_DIR = "_versions"
RECORD_TAG = "datagen version record"
_LISTS = ("sources", "shards")


def record_name(version: int) -> str:
    """``_versions/00000002.json``: the record of ``version``, relative to the dataset."""
    return f"{VERSIONS_DIR}/{version:08d}.json"


def parent_sha256(manifest: Manifest) -> str:
    """The sha256 a successor records for ``manifest``: of its text as written (for a manifest that
    predates versions, as this version writes it)."""
    return _with_sha(manifest)[1]


def make_record(parent: Manifest | None, parent_sha256: str | None, new: Manifest, command: str,
                settings: dict[str, Any], replace_all: bool, parent_text_sha256: str | None = None) -> dict[str, Any]:
    """The record that turns ``parent`` (None for a first split) into ``new``. With ``replace_all``
    every parent shard and source is removed (an overwrite); otherwise ``new`` must keep the parent's
    sources as its first ones, and its shards must be the kept parent shards, in order, then new ones.
    ``parent_text_sha256``: the sha256 of the parent's text as this version writes it, when the caller
    rendered it already (otherwise it is rendered here). (Records written by an earlier version may
    carry a ``manifest_content_sha256`` field: it is ignored.)"""
    old_shards = [] if parent is None else parent.shards
    old_sources = [] if parent is None else parent.sources
    if replace_all:
        removed, kept_sources = [s.path for s in old_shards], 0
    else:
        new_paths = {s.path for s in new.shards}
        removed = [s.path for s in old_shards if s.path not in new_paths]
        kept_sources = len(old_sources)
    kept = len(old_shards) - len(removed)
    # only the added entries are written: flatten those, not all 100k kept ones
    data = dataclasses.replace(new, sources=new.sources[kept_sources:], shards=[]).to_dict()
    head = {k: v for k, v in data.items() if k not in _LISTS}
    added = new.shards[kept:]
    # format 2 records its added shards as a table too (a first split of 100k shards replays cheaply)
    table = shardtable.of_entries(added, new.group_names) if new.format_version >= 2 else None
    data["shards"] = table if table is not None else \
        dataclasses.replace(new, sources=[], shards=added).to_dict()["shards"]
    text_sha = None if parent is None else parent_text_sha256 or _with_sha(parent)[1]
    return {
        "record": RECORD_TAG, "version": new.number,
        "parent": None if parent is None else parent.number, "parent_manifest_sha256": parent_sha256,
        "parent_text_sha256": text_sha,
        "created_at": new.created_at, "command": command, "settings": settings, "head": head,
        "sources_reset": bool(replace_all and parent is not None), "sources_added": data["sources"],
        "shards_removed": removed, "shards_added": data["shards"],
    }


def record_text(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def apply(state: dict[str, Any] | None, record: dict[str, Any]) -> dict[str, Any]:
    """The manifest dict of the record's version, from its parent's (None before version 1)."""
    sources = [] if state is None or record["sources_reset"] else list(state["sources"])
    head = record["head"]
    shards = _shards_after(None if state is None else state["shards"], record, head.get("format_version"))
    sources += record["sources_added"]
    out = {}
    for key in head:  # the manifest's key order: the lists sit where the head left them out
        if key == "shards" or key == "sources":
            continue
        if key == "totals":
            out["shards"] = shards
        if key == "schema":
            out["sources"] = sources
        out[key] = head[key]
    out.setdefault("sources", sources)
    out.setdefault("shards", shards)
    return out


def _shards_after(before: Any, record: dict[str, Any], format_version: Any) -> Any:
    """The shards of the record's version: ``before``'s minus the removed paths, then the added ones; a
    table when the version's format has one (and both parts can be one), else rows."""
    removed = set(record["shards_removed"])
    added = record["shards_added"]
    if format_version == FORMAT_VERSION:
        names = [c.get("name") for c in record["head"].get("group_columns") or [] if isinstance(c, dict)]
        first = [] if before is None else before
        first, second = (x if shardtable.is_table(x) else shardtable.to_columns(x, names) for x in (first, added))
        if first is not None and second is not None:
            out = shardtable.concat(shardtable.without(first, removed), second)
            if out is not None:
                return out
    rows = [] if before is None else record_rows(before)
    return [s for s in rows if s.get("path") not in removed] + record_rows(added)


def record_rows(shards: Any) -> list:
    """Shards as rows, from a table (checked for its shape) or rows."""
    if shardtable.is_table(shards):
        return shardtable.to_rows(shards)
    return list(shards)


def read_record(directory: Path, version: int) -> dict[str, Any]:
    """Record ``version`` of ``directory``, decoded and checked for its shape (its content is
    validated as part of the manifest it replays into)."""
    path = Path(directory) / record_name(version)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or device would block or never end
            raise ManifestError(f"{str(path)!r} is not a regular file; restore {VERSIONS_DIR}/ from a backup")
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"version {version} of {str(directory)!r} cannot be read: {str(path)!r}: "
                            f"{exc.strerror or exc} (was it removed by hand?)") from None
    rec = decode_manifest(raw, repr(str(path)))
    shape = {"record": str, "version": int, "created_at": str, "command": str, "settings": dict, "head": dict,
             "sources_reset": bool, "sources_added": list, "shards_removed": list, "shards_added": (list, dict)}
    bad = next((k for k, t in shape.items() if not isinstance(rec, dict) or not isinstance(rec.get(k), t)), None)
    if bad is not None or rec["record"] != RECORD_TAG or rec["version"] != version:
        raise ManifestError(f"{str(path)!r} is not the datagen version record of version {version} "
                            f"(field {bad or 'record/version'!r}); restore it from a backup")
    added = rec["shards_added"]
    if shardtable.is_table(added) and shardtable.shape_problem(added) is not None:
        raise ManifestError(f"{str(path)!r}: shards_added: {shardtable.shape_problem(added)}; restore it from a backup")
    if not all(isinstance(p, str) for p in rec["shards_removed"]) or \
            not all(isinstance(s, dict) for s in rec["sources_added"]) or \
            not (shardtable.is_table(added) or all(isinstance(s, dict) for s in added)):
        raise ManifestError(f"{str(path)!r}: shards_removed/shards_added/sources_added hold unexpected values")
    return rec


def records(directory: Path, upto: int) -> Iterator[dict[str, Any]]:
    for n in range(1, upto + 1):
        yield read_record(directory, n)


def _with_sha(manifest: Manifest) -> tuple[Manifest, str]:
    return manifest, hashlib.sha256(manifest_text(manifest).encode("utf-8")).hexdigest()


def replay(directory: str | os.PathLike, version: int) -> tuple[Manifest, str]:
    """Manifest ``version`` (and its sha256) from records 1..version, validated as any manifest."""
    directory = Path(directory)
    state = None
    for rec in records(directory, version):
        state = apply(state, rec)
    origin = f"{str(directory / record_name(version))!r} (version {version}, replayed)"
    return _with_sha(manifest_from_dict(state, origin=origin))


def read_version(directory: str | os.PathLike, version: int) -> tuple[Manifest, str]:
    """The manifest of ``version`` with its sha256: the current one read from ``manifest.json``,
    an older one replayed and checked against the parent hash its successor recorded."""
    current, sha = read_manifest_with_hash(directory)
    if type(version) is not int or not 1 <= version <= current.number:
        raise ConfigError(f"version {version!r} of {str(directory)!r} does not exist: its versions are "
                            f"1..{current.number} (see datagen log {directory})")
    from .version_check import check_one

    # every record up to it checks out (the current one against manifest.json, as datagen log checks it),
    # and its files are there; its replayed manifest, checked once
    replayed = check_one(directory, version, (current, sha))
    if version == current.number:
        return current, sha
    manifest, old_sha = replayed
    try:
        successor = read_record(Path(directory), version + 1)
    except ManifestError as exc:
        raise ManifestError(f"version {version} of {str(directory)!r} cannot be checked: the record of version "
                            f"{version + 1}, which holds its hash, is unreadable ({exc}); see datagen log {directory}") from None
    if successor.get("parent_text_sha256") == old_sha:  # its bytes may have had another layout: their hash
        old_sha = successor.get("parent_manifest_sha256") or old_sha
    if successor.get("parent_manifest_sha256") != old_sha:
        raise ManifestError(f"version {version} of {str(directory)!r}, replayed from {VERSIONS_DIR}/, does not "
                            f"match the manifest version {version + 1} recorded as its parent; a record was "
                            "changed by hand")
    return manifest, old_sha


def history(directory: str | os.PathLike) -> list[dict[str, Any]]:
    """One summary per version, oldest first: version, created_at, command, rows/shards added and removed."""
    directory = Path(directory)
    current, _ = read_manifest_with_hash(directory)
    if current.version is None:
        return [{"version": 1, "created_at": current.created_at, "command": "split",
                 "rows_added": current.totals.rows_written, "rows_removed": 0,
                 "shards_added": len(current.shards), "shards_removed": 0}]
    rows: dict[str, int] = {}
    out = []
    for rec in records(directory, current.number):
        removed = [rows.pop(p, 0) for p in rec["shards_removed"]]
        added = record_rows(rec["shards_added"])
        for s in added:
            rows[s["path"]] = s.get("rows", 0)
        out.append({"version": rec["version"], "created_at": rec["created_at"], "command": rec["command"],
                    "rows_added": sum(s.get("rows", 0) for s in added), "rows_removed": sum(removed),
                    "shards_added": len(added), "shards_removed": len(rec["shards_removed"])})
    return out


def shard_sets(directory: str | os.PathLike) -> tuple[list[set[str]], set[str], int]:
    """(the shard paths of each version 1..current, every path a record ever added, current version)."""
    directory = Path(directory)
    current, _ = read_manifest_with_hash(directory)
    if current.version is None:
        paths = {s.path for s in current.shards}
        return [paths], set(paths), 1
    state: set[str] = set()
    ever: set[str] = set()
    per_version = []
    for rec in records(directory, current.number):
        added = set(shardtable.paths(rec["shards_added"]))
        state = (state - set(rec["shards_removed"])) | added
        ever |= added
        per_version.append(set(state))
    return per_version, ever, current.number
