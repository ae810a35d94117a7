"""Staged files carry no column the reduce step can rebuild (stage_write.py): the lineage source
id is the file's metadata, and the time in ticks is staged only when the time column does not
hold it. Shards are still the rows of a plain reference, in the documented order, whichever mix of
staged files (with and without ticks) a group gathers; a source is read whole into one buffer
(stage_hashed.py) even when its size changed after it was measured."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings, strategies as st

from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN
from datagen.contract.manifest import read_manifest
from splitters.config import SplitConfig
from splitters.plan import plan_units
from splitters.sources import discover
from splitters.split import run_split
from splitters.stage import StageContext, stage_unit
from splitters.stage_hashed import _read_whole
from splitters.reduce import GroupJob, WriteContext, _gather_group
from splitters.stage_write import FIRST_ROW_KEY, SOURCE_ID_KEY, staged_table

DAY_S = 86_400


def _file(n: int, seed: int, unit: str, missing: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 90 * DAY_S, n)
    scale = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    mask = rng.random(n) < missing
    return pa.table({"event_time": pa.array(seconds * scale, pa.timestamp(unit, tz="UTC"), mask=mask),
                     "x": rng.normal(size=n), "label": rng.integers(0, 2, n)})


def _staged(tmp_path, table: pa.Table) -> list[pa.Schema]:
    src = tmp_path / "in"
    src.mkdir(parents=True)
    pq.write_table(table, src / "a.parquet")
    sources = discover([str(src)])
    staging = tmp_path / "staging"
    staging.mkdir()
    ctx = StageContext(str(staging), table.schema, "event_time", None, "UTC", ("month",), frozenset({"month"}),
                       "error", 1000, ())
    files = [f for u in plan_units(sources, 1000) for f in stage_unit(u, ctx).files]
    return [pa.ipc.open_file(f.path).schema for f in files]


def test_staged_files_hold_no_source_id_column_and_ticks_only_when_needed(tmp_path):
    (us,) = _staged(tmp_path / "us", _file(300, 1, "us", 0.1))   # timestamp[us]: the column is the ticks
    assert us.names == ["event_time", "x", "label", SOURCE_ROW_COLUMN]
    assert us.metadata[SOURCE_ID_KEY] == b"0" and us.metadata[FIRST_ROW_KEY] == b"0"
    assert us.field(SOURCE_ROW_COLUMN).type == pa.uint32()   # offsets from the batch's first row
    (s,) = _staged(tmp_path / "s", _file(300, 1, "s", 0.1))      # timestamp[s], ticks in us: staged as well
    assert s.names[:4] == ["event_time", "x", "label", SOURCE_ROW_COLUMN] and len(s.names) == 5


def _reference(tables: list[pa.Table]) -> pd.DataFrame:
    """Rows by month of the time (missing: their own group), ordered by time with missing times
    last, then source file and row."""
    frames = []
    for i, t in enumerate(tables):
        df = t.to_pandas()
        df[SOURCE_ID_COLUMN], df[SOURCE_ROW_COLUMN] = i, np.arange(len(df))
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["month"] = df["event_time"].dt.month
    df["missing"] = df["event_time"].isna()
    return df.sort_values(["missing", "event_time", SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN], kind="stable")


@settings(deadline=None, max_examples=30)
@given(st.sampled_from(["s", "ms", "us", "ns"]),
       st.lists(st.tuples(st.integers(0, 400), st.sampled_from([0.0, 0.2, 1.0])), min_size=1, max_size=4),
       st.integers(0, 2**31))
def test_property_shards_are_the_reference_rows_whatever_is_staged(tmp_path_factory, unit, files, seed):
    # a file whose times are all missing stages its ticks nowhere (null is MISSING_TIME either way), so the
    # missing-time group may gather staged files with and without ticks
    tmp = tmp_path_factory.mktemp("lean")
    src = tmp / "in"
    src.mkdir()
    tables = [_file(n, seed + i, unit, missing) for i, (n, missing) in enumerate(files)]
    for i, t in enumerate(tables):
        pq.write_table(t, src / f"f{i}.parquet", row_group_size=100)
    ref = _reference(tables)
    if ref.empty:
        return
    run_split(SplitConfig(inputs=[str(src)], out=str(tmp / "out"), time_column="event_time", group_by=["month"],
                          label="label", memory_limit="64MiB", workers=2, progress=False))
    manifest = read_manifest(tmp / "out")
    seen = 0
    for shard in manifest.shards:
        got = pq.read_table(tmp / "out" / shard.path).to_pandas()
        month = shard.group["month"]
        want = ref[ref["missing"]] if month is None else ref[ref["month"] == month]
        assert got[SOURCE_ID_COLUMN].dtype == np.int32
        for column in ("event_time", "x", SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN):
            assert got[column].tolist() == want[column].tolist(), column
        seen += len(got)
    assert seen == len(ref)


def test_a_source_is_read_whole_even_if_its_size_changed():
    data = np.random.default_rng(0).bytes(10_000)
    for measured in (0, 9_999, 10_000, 10_001, 20_000):
        assert _read_whole(io.BytesIO(data), measured).to_pybytes() == data


def test_staged_files_are_written_through_a_buffer_and_closed(tmp_path):
    import os

    from splitters.stage_write import staged_sink, staged_source

    table = _file(5000, 3, "us", 0.0)
    fds = len(os.listdir("/proc/self/fd"))
    for i in range(20):
        sink = staged_sink(str(tmp_path / f"s{i}.arrow"))
        assert isinstance(sink, pa.BufferedOutputStream)   # one system call per MB, not per column buffer
        with sink, pa.ipc.new_file(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=100):
                writer.write_batch(batch)
    assert len(os.listdir("/proc/self/fd")) == fds
    assert pa.ipc.open_file(staged_source(str(tmp_path / "s7.arrow"))).read_all().equals(table)


class _OneBatch:
    """A staged file's reader, as the reduce step caches it: record batches by index."""

    def __init__(self, batches):
        self.batches = batches

    def get_batch(self, i):
        return self.batches[i]


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(st.integers(0, 50), st.lists(st.integers(0, 2**40), min_size=0, max_size=30, unique=True)),
                min_size=1, max_size=4),
       st.sampled_from(["us", "s", None]))
def test_property_staged_slices_gather_back_as_they_were(staged_pieces, unit):
    """stage_write.staged_table, then the reduce step's gather of a group's slices (one per staged
    file, each of one source) give back the stored columns, the lineage source ids, the source rows
    (uint32 offsets when they span less than 2**32, else int64) and the ticks, in slice order."""
    ctx = wctx = None
    readers, tables, all_rows, all_ids, all_ticks, slices = {}, [], [], [], [], []
    for k, (source_id, source_rows) in enumerate(staged_pieces):
        n = len(source_rows)
        rows = np.array(source_rows, dtype=np.int64)
        seconds = np.arange(n, dtype=np.int64) * 7 + k
        columns = {"x": np.arange(n, dtype=np.float64) + k}
        if unit is not None:
            columns["event_time"] = pa.array(seconds * (10**6 if unit == "us" else 1), pa.timestamp(unit, tz="UTC"))
        table = pa.table(columns)
        ctx = StageContext("", table.schema, "event_time" if unit else None, None, "UTC", ("month",),
                           frozenset({"month"}), "error", 1000, ())
        wctx = WriteContext("", (), 1, None, (), None, ctx.time_column, ())
        ticks = seconds * 10**6 if unit else None
        staged = staged_table(table, ticks, rows, source_id, np.arange(n), ctx).combine_chunks()
        narrow = n == 0 or rows.max() - rows.min() < 2**32
        assert staged.schema.field(SOURCE_ROW_COLUMN).type == (pa.uint32() if narrow else pa.int64())
        batch = staged.to_batches()[0] if n else pa.RecordBatch.from_pylist([], schema=staged.schema)
        readers[f"s{k}"] = _OneBatch([batch])
        slices.append((f"s{k}", 0, n))
        tables.append(table)
        all_rows += source_rows
        all_ids += [source_id] * n
        all_ticks += [] if ticks is None else ticks.tolist()
    job = GroupJob(0, "month=1", {"month": 1}, tuple(slices))
    stored, ids, rows, ticks = _gather_group(job, wctx, readers, {}, None, {})
    assert stored.equals(pa.concat_tables(tables)) and stored.schema.metadata is None
    assert ids.dtype == np.int32 and ids.tolist() == all_ids
    assert rows.dtype == np.int64 and rows.tolist() == all_rows
    assert (ticks is None) if unit is None else ticks.tolist() == all_ticks


def test_split_reports_cpu_time_per_phase(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    pq.write_table(_file(500, 4, "us", 0.0), src / "a.parquet")
    s = run_split(SplitConfig(inputs=[str(src)], out=str(tmp_path / "out"), time_column="event_time",
                              group_by=["month"], progress=False))
    assert list(s.cpu_phases) == ["stage+hash", "write", "publish", "cleanup"]
    assert all(v >= 0 for v in s.cpu_phases.values())


def test_a_source_is_read_into_arrow_memory(tmp_path):
    """Not a fresh Python bytes object per file (its pages are faulted in and zeroed anew each time):
    the bytes land in a buffer of Arrow's pool, which reuses freed memory."""
    from splitters.stage_hashed import read_and_hash

    path = tmp_path / "f.bin"
    path.write_bytes(np.random.default_rng(1).bytes(3 << 20))
    before = pa.total_allocated_bytes()
    data, _ = read_and_hash(str(path))
    assert pa.total_allocated_bytes() - before >= 3 << 20 and data.to_pybytes() == path.read_bytes()
