"""``datagen log`` and ``datagen vacuum``: the versions of a dataset, and freeing the shards old ones hold.

Vacuum deletes a shard file only when (1) some version record lists it (a file no version ever
listed, e.g. a half-written shard of a running append or a user's own file, is never touched),
(2) none of the ``--keep`` newest versions lists it, and (3) it is a regular file inside DIR.
It runs under the dataset's lock (the one split-datasets takes), so no append or overwrite
can be re-listing a file while it is deleted; a generator already reading a version that is not
kept loses its files (that is what vacuum is for: keep as many versions as runs may read).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from datagen.contract.errors import UsageError
from datagen.contract.manifest import read_manifest_with_hash
from datagen.contract.outlock import OutLock
from datagen.contract.versions import history, shard_sets


def log_lines(directory: str) -> list[str]:
    lines = []
    for h in history(directory):
        lines.append(f"{h['version']:>6}  {h['created_at']}  {h['command']:<9}  +{h['rows_added']:,} rows "
                     f"-{h['rows_removed']:,} rows  +{h['shards_added']:,} shards  -{h['shards_removed']:,} shards")
    return lines


@dataclass
class VacuumPlan:
    keep_from: int          # oldest kept version
    current: int
    files: list[str]        # relative paths to delete (those present on disk)
    bytes: int


def plan_vacuum(directory: Path, keep: int) -> VacuumPlan:
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise UsageError(f"--keep: expected a number of versions >= 1, got {keep!r}")
    per_version, ever, current = shard_sets(directory)
    keep_from = max(1, current - keep + 1)
    needed = set().union(*per_version[keep_from - 1:])
    root = os.path.realpath(directory)
    files, total = [], 0
    for rel in sorted(ever - needed):
        path = directory.joinpath(*rel.split("/"))
        if not os.path.realpath(path.parent).startswith(root) or path.is_symlink() or not path.is_file():
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
    with OutLock(root):
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
