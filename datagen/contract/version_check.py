"""Checking the version records of a dataset (``datagen log``, ``show --version``, ``version=N``).

A record is trusted only when its chain checks out: records 1..N are read and replayed in
order; version k's replayed manifest must have the sha256 record k+1 holds as its parent (the
current version's must equal ``manifest.json``), and each record must agree with itself (its
version and time are those of its head; its command fits what it did: the first version a split,
a reset of the sources an overwrite, new sources an append, none a compaction). A record that
is absent is "record missing"; one that does not check out is "record damaged: ...";
a version after a missing or damaged record cannot be replayed and is "unverified". A version
whose listed shard files are not all on disk is marked vacuumed (only the files the current
version does not list are looked at, once each).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ManifestError
from .format import Manifest
from .manifest import manifest_from_dict, read_manifest_with_hash
from .render import data_text
from . import shardtable
from . import versions as V


@dataclass
class VersionCheck:
    version: int
    record: dict[str, Any] | None
    problem: str | None = None       # "record missing" | "record damaged: ..." | "unverified: ..."
    paths: set[str] = field(default_factory=set)   # the shard paths it lists (when replayed)
    vacuumed: bool = False
    replayed: tuple[Manifest, str] | None = None   # (manifest, sha256 of its text): the last version checked


def _command_problem(rec: dict[str, Any]) -> str | None:
    head = rec["head"]
    if head.get("version") not in (rec["version"], None if rec["version"] == 1 else -1) or head.get("created_at") != rec["created_at"]:
        return "its version/created_at differ from its head's"
    cmd = rec["command"]
    if rec["version"] == 1 or rec["sources_reset"]:
        fits = cmd in ("split", "overwrite")
    else:
        fits = cmd == ("append" if rec["sources_added"] else "compact")
    return None if fits else f"command {cmd!r} does not fit what the record did"


def check_versions(directory: str | os.PathLike, upto: int | None = None,
                   current: tuple[Manifest, str] | None = None) -> list[VersionCheck]:
    """One VersionCheck per version 1..current, oldest first (see the module docstring). With ``upto``,
    only versions 1..upto are replayed and checked (and record upto+1 read for the hash it holds):
    the checks after it are absent, and the last one carries its replayed manifest. ``current``: the
    manifest.json the caller read already, with the sha256 of its bytes."""
    directory = Path(directory)
    current, current_sha = current or read_manifest_with_hash(directory)
    if current.version is None:
        return [VersionCheck(1, None, None, {s.path for s in current.shards})]
    n_cur = current.number
    last = n_cur if upto is None else min(upto, n_cur)
    checks = []
    for n in range(1, min(last + 1, n_cur) + 1):
        if not (directory / V.record_name(n)).exists():
            checks.append(VersionCheck(n, None, "record missing"))
            continue
        try:
            rec = V.read_record(directory, n)
        except ManifestError as exc:
            checks.append(VersionCheck(n, None, f"record damaged: {exc}"))
            continue
        checks.append(VersionCheck(n, rec, _command_problem(rec)))
        if checks[-1].problem:
            checks[-1].problem = f"record damaged: {checks[-1].problem}"
    state, broken = None, None
    for c in checks[:last]:
        if broken is not None:
            c.problem = c.problem or f"unverified: record {broken} is missing or damaged"
            continue
        if c.record is None or c.problem:
            broken = c.version
            continue
        state = V.apply(state, c.record)
        c.paths = set(shardtable.paths(state["shards"]))
        if c.version == n_cur:
            expected = {current_sha}
        else:
            nxt = checks[c.version].record
            expected = {nxt.get("parent_text_sha256"), nxt.get("parent_manifest_sha256")} - {None} if nxt else set()
        try:  # every replay is validated (column-wise), even one whose text matches a recorded hash
            manifest = manifest_from_dict(state, origin=f"version {c.version}, replayed")
        except ManifestError as exc:
            c.problem, broken = f"record damaged: {exc}", c.version
            continue
        text_sha = _text_sha(state)
        if text_sha in expected:  # byte for byte the manifest.json that was committed
            if c.version == last:
                c.replayed = manifest, text_sha
            continue
        sha = V._with_sha(manifest)[1]
        if c.version == last:
            c.replayed = manifest, sha
        if c.version == n_cur:
            if manifest != current:
                c.problem = ("record damaged: manifest.json differs from this version replayed from its records "
                             "(manifest.json or the record was edited by hand)")
            continue
        nxt = checks[c.version].record   # the successor's record holds this version's hash
        if nxt is not None and sha not in (nxt.get("parent_text_sha256"), nxt.get("parent_manifest_sha256")):
            c.problem = (f"record damaged: replayed, it does not match the parent hash record {c.version + 1} "
                         "holds (one of them was changed by hand)")
            broken = c.version
    _mark_vacuumed(directory, checks[:min(last, n_cur - 1)], {s.path for s in current.shards})
    return checks[:last]


def _text_sha(state: dict[str, Any]) -> str | None:
    try:
        return hashlib.sha256(data_text(state).encode("utf-8")).hexdigest()
    except (TypeError, ValueError, UnicodeEncodeError):  # not plain JSON data: not the written form
        return None


def _mark_vacuumed(directory: Path, checks: list[VersionCheck], current: set[str]) -> None:
    gone: dict[str, bool] = {}
    for c in checks:
        for p in c.paths - current:
            if p not in gone:
                gone[p] = not isinstance(p, str) or not directory.joinpath(*p.split("/")).is_file()
        c.vacuumed = any(gone.get(p, False) for p in c.paths - current)


def check_one(directory: str | os.PathLike, version: int,
              current: tuple[Manifest, str] | None = None) -> tuple[Manifest, str]:
    """Refuse reading ``version`` (older than the current one) when a version up to it does not check
    out (its record, replayed, must match the parent hash its successor holds), or when its shards
    were deleted by vacuum. Damage in a later record is ``datagen log``'s to report. Returns the
    replayed manifest of ``version`` and the sha256 of its text."""
    checks = check_versions(directory, upto=version, current=current)
    bad = next((c for c in checks[:version] if c.problem), None)
    if bad is not None:
        raise ManifestError(f"version {version} of {str(directory)!r} cannot be trusted: version {bad.version} "
                            f"({V.record_name(bad.version)}): {bad.problem}; restore {V.VERSIONS_DIR}/ from a backup (see datagen log {directory})")
    if checks[version - 1].vacuumed:
        raise ManifestError(f"version {version} of {str(directory)!r} was vacuumed (its shards were deleted by "
                            f"datagen vacuum); read a kept version (see datagen log {directory})")
    return checks[version - 1].replayed
