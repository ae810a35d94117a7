"""Open a finished dataset with pyarrow, using the manifest's shard list."""

from __future__ import annotations

import os
from pathlib import Path

from .manifest import read_manifest


def arrow_dataset(directory: str | os.PathLike):
    """A ``pyarrow.dataset.Dataset`` of the shards the manifest lists, with the
    hive group columns. Unlike ``pyarrow.dataset.dataset(DIR)``, it needs no
    directory listing and never trips over ``manifest.json``."""
    import pyarrow.dataset as ds

    directory = Path(directory)
    manifest = read_manifest(directory)
    files = [str(directory.joinpath(*s.path.split("/"))) for s in manifest.shards]
    return ds.dataset(files, format="parquet", partitioning=ds.partitioning(flavor="hive"),
                      partition_base_dir=str(directory))
