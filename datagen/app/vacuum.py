"""``datagen log`` and ``datagen vacuum``: the versions of a dataset, and freeing the shards old ones hold.

Vacuum deletes a shard file only when (1) some version record lists it (a file no version ever
listed, e.g. a half-written shard of a running append or a user's own file, is never touched),
(2) none of the ``--keep`` newest versions lists it, and (3) it is a regular file inside DIR (its real
path, by ``os.path.commonpath``). Vacuum is refused, nothing deleted, when the version chain does not
check out (``datagen log``'s check) or a record lists a path the contract's path rule refuses.
It runs under the dataset's lock (the one split-datasets takes), so no append or overwrite
can be re-listing a file while it is deleted; a generator already reading a version that is not
kept loses its files (that is what vacuum is for: keep as many versions as runs may read).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from datagen.contract.errors import ManifestError, UsageError
from datagen.contract.manifest import read_manifest_with_hash
from datagen.contract.outlock import OutLock
from datagen.contract.pathrules import path_problem
from datagen.contract.version_check import check_versions
from datagen.contract.versions import history, record_rows, shard_sets


def log_lines(directory: str) -> tuple[list[str], bool]:
    """(one line per version, whether every record checked out): see version_check.py."""
    checks = check_versions(directory)
    if checks[0].record is None and not checks[0].problem:   # a dataset from before versions: no records
        return [_line(history(directory)[0])], True
    lines, rows = [], {}
    for c in checks:
        if c.record is None:
            lines.append(f"{c.version:>6}  {c.problem}")
            continue
        rec = c.record
        removed = [rows.pop(p, 0) for p in rec["shards_removed"]]
        added = record_rows(rec["shards_added"])   # a format-2 record holds a table
        for s in added:
            rows[s.get("path")] = s.get("rows", 0)
        line = _line({"version": c.version, "created_at": rec["created_at"], "command": rec["command"],
                      "rows_added": sum(s.get("rows", 0) for s in added), "rows_removed": sum(removed),
                      "shards_added": len(added), "shards_removed": len(rec["shards_removed"])})
        notes = [c.problem] if c.problem else []
        notes += ["files vacuumed"] if c.vacuumed else []
        lines.append(line + "".join(f"  [{n}]" for n in notes))
    return lines, not any(c.problem for c in checks)


def _line(h: dict) -> str:
    return (f"{h['version']:>6}  {h['created_at']}  {h['command']:<9}  +{h['rows_added']:,} rows "
            f"-{h['rows_removed']:,} rows  +{h['shards_added']:,} shards  -{h['shards_removed']:,} shards")


@dataclass
class VacuumPlan:
    keep_from: int          # oldest kept version
    current: int
    files: list[str]        # relative paths to delete (those present on disk)
    bytes: int


def plan_vacuum(directory: Path, keep: int) -> VacuumPlan:
    """What vacuum would delete; refused (ManifestError, nothing deleted) when the version chain does not
    check out (what ``datagen log`` reports) or a record lists a path the contract's path rule refuses."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise UsageError(f"--keep: expected a number of versions >= 1, got {keep!r}")
    bad = next((c for c in check_versions(directory) if c.problem), None)
    if bad is not None:
        raise ManifestError(f"vacuum refused: version {bad.version} of {str(directory)!r} ({bad.problem}); its "
                            f"records cannot say which files are shards; see datagen log {directory}")
    per_version, ever, current = shard_sets(directory)
    keep_from = max(1, current - keep + 1)
    needed = set().union(*per_version[keep_from - 1:])
    root = os.path.realpath(directory)
    files, total = [], 0
    for rel in sorted(ever - needed):
        problem = path_problem(rel)
        if problem is not None:
            raise ManifestError(f"vacuum refused: a version record of {str(directory)!r} lists the shard path "
                                f"{rel[:200]!r}, which {problem}; see datagen log {directory}")
        path = directory.joinpath(*rel.split("/"))
        real = os.path.realpath(path)
        if os.path.commonpath([root, real]) != root or real == root or path.is_symlink() or not path.is_file():
            continue
        files.append(rel)
        total += path.stat().st_size
    return VacuumPlan(keep_from, current, files, total)


def _prune(directory: Path, rel: str) -> None:
    parts = rel.split("/")[:-1]
    while parts:
        try:
            os.rmdir(directory.joinpath(*parts))
        except OSError:
            return
        parts.pop()


def vacuum(directory: str, keep: int, dry_run: bool, say) -> VacuumPlan:
    root = Path(directory)
    read_manifest_with_hash(root)  # a clear error for a directory that holds no dataset, before locking
    with OutLock(root, command="datagen vacuum"):
        plan = plan_vacuum(root, keep)
        verb = "would delete" if dry_run else "deleting"
        for rel in plan.files:
            say(f"{verb} {rel}")
        if not dry_run:
            for rel in plan.files:
                root.joinpath(*rel.split("/")).unlink()
                _prune(root, rel)
    kept = f"versions {plan.keep_from}..{plan.current}" if plan.keep_from < plan.current else f"version {plan.current}"
    done = "would free" if dry_run else "freed"
    say(f"{done} {plan.bytes / 1e6:,.1f} MB in {len(plan.files):,} shard files no kept version lists ({kept} kept)")
    return plan
