"""Checking a dataset directory against its manifest (``datagen verify``).

Every shard goes through the same :class:`~datagen.contract.shardcheck.ShardChecker` the generator
uses (real path inside DIR, regular file, size, Parquet footer against the manifest's schema,
rows and row groups, and with ``full_hash`` the sha256 and every lineage value against the
sources' row counts, each (source, row) once across all shards, lineageseen.py, and no NaN in the label
column, nancount.py), so OK means the generator accepts
the dataset. Every problem is listed, one line per shard.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from datagen.contract.format import Manifest
from datagen.contract.manifest import read_manifest
from datagen.contract.shardcheck import ShardChecker, ShardProblem
from datagen.contract.sourcecheck import changed_sources
from datagen.contract.storage import is_remote

THREADS = min(4, os.cpu_count() or 1)  # shards hashed and their footers read in parallel


@dataclass
class VerifyReport:
    directory: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    pack_problems: int = 0  # how many of ``problems`` are about the footer pack, not a shard
    notes: list[str] = field(default_factory=list)   # not failures: local sources changed since the split

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_dataset(directory: str | os.PathLike, manifest: Manifest | None = None, full_hash: bool = True,
                   storage_options: dict | None = None) -> VerifyReport:
    """Re-check every shard (see the module docstring); ``full_hash`` adds the sha256 of each file.
    A dataset URL is checked through a temporary shard cache (each shard downloaded once, its size and
    sha256 checked on download; footers with one ranged GET each when ``full_hash`` is off)."""
    if is_remote(directory):
        import tempfile

        from datagen.contract.remote import RemoteDataset
        from datagen.contract.cachedcheck import CachedShardChecker
        from datagen.contract.shardcache import ShardCache

        remote = RemoteDataset(str(directory), storage_options)
        manifest = manifest or remote.read_manifest_with_hash()[0]
        with tempfile.TemporaryDirectory(prefix="datagen-verify-") as tmp:
            room = max(s.bytes for s in manifest.shards) * (THREADS + 1)
            report = _verify(remote.url, manifest, CachedShardChecker(ShardCache(remote, tmp, room), manifest),
                             full_hash)
        found = pack_problems(remote, manifest)
        report.problems += found
        report.pack_problems = len(found)
        return report
    directory = Path(directory)
    manifest = manifest or read_manifest(directory)
    report = _verify(str(directory), manifest, ShardChecker(directory, manifest), full_hash)
    report.notes = changed_sources(manifest)   # sourcecheck.py: provenance would name rows of the old files
    return report


def pack_problems(remote, manifest: Manifest) -> list[str]:
    """The footer pack the manifest names against every shard's real footer: one line per shard whose
    entry differs (or one line for a pack that is missing, changed or not this manifest's)."""
    if manifest.footer_pack is None:
        return []
    from datagen.contract.errors import DatagenError

    try:
        tails = remote.footer_pack(manifest)
    except DatagenError as exc:
        return [str(exc)]

    def problem(item) -> str | None:
        shard, tail = item
        try:
            real = remote.footer_bytes(shard)[4:]
        except DatagenError:
            return None  # the shard's own check reports it
        if real != tail:
            return (f"{shard.path}: its entry in the footer pack {manifest.footer_pack.path!r} differs from the "
                    "shard's footer; re-run the split with --overwrite to rewrite the pack")
        return None

    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="datagen-verify-pack") as pool:
        return [p for p in pool.map(problem, zip(manifest.shards, tails)) if p is not None]


def _verify(directory: str, manifest: Manifest, checker: ShardChecker, full_hash: bool) -> VerifyReport:
    from datagen.contract.lineageseen import LineageSeen  # numpy: loaded only when checking
    from datagen.contract.nancount import label_nan_problem

    level = "sha256" if full_hash else "footer"
    seen = LineageSeen(manifest) if full_hash else None  # (source, row) pairs unique across the shards

    def problem(shard) -> str | None:
        try:
            checker.check(shard, level)
            if full_hash:  # every (source, row) the shard names exists in the manifest's sources
                checker.check_lineage_values(shard, seen)
                if manifest.label_column:  # NaN labels: Parquet statistics do not count them
                    return label_nan_problem(checker.locate(shard), shard.path, manifest.label_column)
        except ShardProblem as found:
            return found.line
        return None

    report = VerifyReport(str(directory), checked=len(manifest.shards))
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="datagen-verify") as pool:
        report.problems = [p for p in pool.map(problem, manifest.shards) if p is not None]  # manifest order
    if seen is not None and not report.problems:
        report.problems = seen.count_problems()
    return report
