"""Helpers of the CSV block/type tests: split a CSV and read the shards back in source order."""

import hashlib

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from datagen.contract.manifest import read_manifest


def split_rows(run_split, src, out, *extra, group_by="day"):
    """Split ``src``; returns (all shard rows as one DataFrame sorted by source and row, manifest)."""
    srcs = src if isinstance(src, (list, tuple)) else [src]
    r = run_split(*srcs, "--out", out, "--time-column", "t", "--group-by", group_by, *extra)
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    table = pa.concat_tables([pq.read_table(out / s.path) for s in m.shards])
    df = table.to_pandas().sort_values(["_source_id", "_source_row"]).reset_index(drop=True)
    return df, m


def shard_hashes(out) -> dict[str, str]:
    m = read_manifest(out)
    return {s.path: hashlib.sha256((out / s.path).read_bytes()).hexdigest() for s in m.shards}


def same_as_pandas(got: pd.DataFrame, path, columns, **read_csv):
    """The split's rows equal pandas.read_csv's, row for row, with _source_row = pandas' index."""
    want = pd.read_csv(path, keep_default_na=False, na_values=[], **read_csv)
    assert got["_source_row"].tolist() == list(range(len(want)))
    for c in columns:
        assert got[c].astype(str).tolist() == want[c].astype(str).tolist(), c
