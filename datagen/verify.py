"""Checking a dataset directory against its manifest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from .hashing import sha256_file
from .manifest import Manifest, read_manifest


@dataclass
class VerifyReport:
    directory: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_dataset(directory: str | os.PathLike, manifest: Manifest | None = None, full_hash: bool = True) -> VerifyReport:
    """Re-check every shard: present, same size, same row count, and (``full_hash``) same sha256."""
    directory = Path(directory)
    manifest = manifest or read_manifest(directory)
    report = VerifyReport(str(directory))
    for shard in manifest.shards:
        path = directory.joinpath(*shard.path.split("/"))
        report.checked += 1
        if not path.is_file():
            report.problems.append(f"missing shard {shard.path}")
            continue
        size = path.stat().st_size
        if size != shard.bytes:
            report.problems.append(f"changed shard {shard.path}: {size} bytes, manifest says {shard.bytes}")
            continue
        if full_hash:
            digest = sha256_file(path)
            if digest != shard.sha256:
                report.problems.append(f"changed shard {shard.path}: sha256 {digest[:12]}..., manifest says {shard.sha256[:12]}...")
                continue
        try:
            rows = pq.read_metadata(path).num_rows
        except Exception as exc:  # a corrupt footer is a finding, not a crash
            report.problems.append(f"unreadable shard {shard.path}: {str(exc).splitlines()[0]}")
            continue
        if rows != shard.rows:
            report.problems.append(f"changed shard {shard.path}: {rows} rows, manifest says {shard.rows}")
    return report
