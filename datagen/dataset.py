"""Open a finished dataset with pyarrow, using the manifest's shard list."""

from __future__ import annotations

import os
from pathlib import Path

from .manifest import read_manifest
from .shardcheck import ShardChecker


def arrow_dataset(directory: str | os.PathLike):
    """A ``pyarrow.dataset.Dataset`` of the shards the manifest lists, with the
    hive group columns. Unlike ``pyarrow.dataset.dataset(DIR)``, it needs no
    directory listing and never trips over ``manifest.json``."""
    import pyarrow.dataset as ds

    directory = Path(directory)
    manifest = read_manifest(directory)
    checker = ShardChecker(directory, manifest)  # real paths inside DIR, regular files of the listed size
    files = [checker.locate(s) for s in manifest.shards]
    return ds.dataset(files, format="parquet", partitioning=ds.partitioning(flavor="hive"),
                      partition_base_dir=checker.root)
