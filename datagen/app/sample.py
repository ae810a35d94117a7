"""A synthetic, time-stamped table with a learnable 0/1 label (no download).

Columns: ``event_time`` (timestamp, UTC, spread over one year), ``id`` (int64),
``category`` (string), ``f0`` .. ``f{n-1}`` (float32) and ``label`` (int8):
label is 1 when a fixed linear function of the features plus noise is positive.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MAX_ROWS_PER_FILE = 20_000_000  # one file's table is built in memory (~100 bytes a row)
YEAR_START = np.datetime64("2024-01-01T00:00:00", "ns")
YEAR_NS = 366 * 86_400 * 10**9
CATEGORIES = np.array(["alpha", "beta", "gamma", "delta", "epsilon"])


def check_sample_size(rows: int, files: int) -> None:
    """Refuse sizes the sample cannot be written with (a usage error, before anything is written)."""
    from datagen.contract.errors import UsageError

    if files < 1 or rows < files:
        raise UsageError(f"--rows must be at least --files (>= 1), got rows={rows}, files={files}")
    if rows // files > MAX_ROWS_PER_FILE:
        raise UsageError(f"--rows {rows:,} in {files} files is more than {MAX_ROWS_PER_FILE:,} rows a file; "
                         "pass more --files")


def sample_table(rows: int, seed: int = 0, features: int = 16, start_id: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, YEAR_NS, size=rows, dtype=np.int64)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    weights = np.random.default_rng(12345).standard_normal(features).astype(np.float32)
    score = x @ weights + 0.5 * rng.standard_normal(rows).astype(np.float32)
    columns = {
        "event_time": pa.array(YEAR_START.astype(np.int64) + offsets, type=pa.timestamp("ns", "UTC")),
        "id": pa.array(np.arange(start_id, start_id + rows, dtype=np.int64)),
        "category": pa.array(CATEGORIES[rng.integers(0, len(CATEGORIES), size=rows)]),
    }
    for i in range(features):
        columns[f"f{i}"] = pa.array(x[:, i])
    columns["label"] = pa.array((score > 0).astype(np.int8))
    return pa.table(columns)


def write_sample(directory: str | os.PathLike, files: int = 4, rows_per_file: int = 100_000, seed: int = 0,
                 features: int = 16, fmt: str = "parquet", row_group_size: int = 131_072,
                 rows: int | None = None) -> list[Path]:
    """Write ``files`` sample files into ``directory``; returns their paths. ``rows``: the total instead
    of ``rows_per_file``, spread as evenly as it goes (the first ``rows % files`` files hold one more)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sizes = [rows_per_file] * files if rows is None else [rows // files + (i < rows % files) for i in range(files)]
    paths = []
    for i in range(files):
        table = sample_table(sizes[i], seed=seed * 1000 + i, features=features, start_id=sum(sizes[:i]))
        if fmt == "parquet":
            path = directory / f"events-{i:03d}.parquet"
            pq.write_table(table, path, row_group_size=row_group_size, compression="snappy")
        elif fmt == "csv":
            import pyarrow.csv as pacsv

            path = directory / f"events-{i:03d}.csv"
            pacsv.write_csv(table, path)
        else:
            raise ValueError(f"fmt: expected 'parquet' or 'csv', got {fmt!r}")
        paths.append(path)
    return paths
