"""Shard column encodings (splitters/shard_encoding.py): delta-packed integers and times round-trip
exactly through pyarrow, DuckDB and Polars, and a split's shards really use them."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from splitters.config import SplitConfig
from splitters.shard_encoding import DELTA, write_options
from splitters.split import run_split

INT_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]


def _bounds(t: pa.DataType) -> tuple[int, int]:
    info = np.iinfo(t.to_pandas_dtype())
    return int(info.min), int(info.max)


@st.composite
def int_tables(draw):
    n = draw(st.integers(0, 300))
    cols = {}
    for i, t in enumerate(draw(st.lists(st.sampled_from(INT_TYPES), min_size=1, max_size=4))):
        lo, hi = _bounds(t)
        value = st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0]), st.none())
        cols[f"c{i}"] = pa.array(draw(st.lists(value, min_size=n, max_size=n)), type=t)
    sorted_ticks = sorted(draw(st.lists(st.integers(-2**62, 2**62), min_size=n, max_size=n)))
    cols["t"] = pa.array(sorted_ticks, type=pa.timestamp("ns", tz="UTC"))
    return pa.table(cols)


def _write(table: pa.Table, path, row_group_size: int = 64) -> None:
    pq.write_table(table, path, **write_options(table.schema, {}, row_group_size))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=int_tables())
def test_integers_and_times_round_trip_through_three_readers(table, tmp_path):
    path = tmp_path / "s.parquet"
    _write(table, path)
    assert pq.read_table(path).equals(table)
    meta = pq.ParquetFile(path).metadata
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            col = meta.row_group(g).column(c)
            if col.statistics is not None and col.statistics.num_values > 0:   # pages with values
                assert DELTA in col.encodings, (col.path_in_schema, col.encodings)
    ints = [n for n in table.column_names if n != "t"]
    got = duckdb.sql(f"select {', '.join(ints)} from read_parquet('{path}')").fetchall()
    assert [list(r) for r in zip(*got)] == [table.column(n).to_pylist() for n in ints] if got else table.num_rows == 0
    assert pl.read_parquet(path).to_arrow().select(table.column_names).cast(table.schema).equals(table)


def test_every_kind_of_column_keeps_its_values(tmp_path):
    table = pa.table({
        "d": pa.array([dt.date(1, 1, 1), None, dt.date(9999, 12, 31)], pa.date32()),
        "tm": pa.array([dt.time(0), dt.time(23, 59, 59, 999999), None], pa.time64("us")),
        "dur": pa.array([-5, None, 2**40], pa.duration("ms")),
        "txt": pa.array(["a", None, "é😀"]),
        "flag": pa.array([True, None, False]),
        "x": pa.array([1.5, -0.0, None], pa.float32()),
        "dec": pa.array([None, 1, 2], pa.decimal128(10, 2)),
    })
    path = tmp_path / "s.parquet"
    _write(table, path)
    assert pq.read_table(path).equals(table)
    enc = {pq.ParquetFile(path).metadata.row_group(0).column(c).path_in_schema:
           pq.ParquetFile(path).metadata.row_group(0).column(c).encodings for c in range(len(table.columns))}
    assert all(DELTA in enc[n] for n in ("d", "tm", "dur"))
    assert all(DELTA not in enc[n] for n in ("txt", "flag", "x", "dec"))
    assert "RLE_DICTIONARY" in enc["txt"]


def test_split_shards_delta_pack_lineage_and_times(tmp_path):
    n = 5_000
    rng = np.random.default_rng(3)
    src = tmp_path / "src.parquet"
    pq.write_table(pa.table({
        "event_time": pd.date_range("2024-01-01", periods=n, freq="37min", tz="UTC"),
        "id": rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64),
        "x": rng.random(n).astype(np.float32),
        "label": rng.integers(0, 3, n).astype(np.int8),
    }), src)
    out = tmp_path / "out"
    run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="event_time", group_by=["month"], label="label"))
    shards = sorted(out.rglob("*.parquet"))
    assert shards
    back = pa.concat_tables([pq.read_table(p) for p in shards])
    for p in shards:
        rg = pq.ParquetFile(p).metadata.row_group(0)
        enc = {rg.column(c).path_in_schema: rg.column(c).encodings for c in range(rg.num_columns)}
        for name in ("event_time", "id", "label", "_source_id", "_source_row"):
            assert DELTA in enc[name], (p, name, enc[name])
    original = pq.read_table(src).to_pandas()
    rows = back.to_pandas().sort_values("_source_row")
    assert rows["id"].to_numpy().tolist() == original["id"].to_numpy().tolist()
    assert duckdb.sql(f"select sum(id::hugeint) from read_parquet('{out}/**/*.parquet')").fetchall()[0][0] == \
        sum(int(v) for v in original["id"])
