"""Staged batches kept in memory under a budget (stage_memory.py), shards written past the page
cache (directwrite.py) and NaN counts proved zero by a sum (contract/nancount.py): the shard bytes
are those of the staged-file path, whatever part of the staging the budget holds."""

from __future__ import annotations

import errno
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

import splitters.directwrite as directwrite
import splitters.split as split_module
from datagen.contract.errors import ConfigError
from datagen.contract.manifest import read_manifest
from datagen.contract.nancount import count_nan
from splitters import stage_memory
from splitters.config import SplitConfig
from splitters.split import run_split

DAY_S = 86_400


def _inputs(tmp_path, files: int = 3, rows: int = 4000):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(7)
    for i in range(files):
        seconds = rng.integers(0, 40 * DAY_S, rows)
        x = rng.normal(size=rows).astype(np.float32)
        x[rng.random(rows) < 0.01] = np.nan
        pq.write_table(pa.table({"t": pa.array(seconds * 10**6, pa.timestamp("us", tz="UTC")), "x": x,
                                 "cat": pa.array(rng.choice(["a", "b", "c"], rows)),
                                 "label": rng.integers(0, 2, rows)}), src / f"f{i}.parquet", row_group_size=1000)
    return src


def _split(src, out, monkeypatch, **options) -> tuple[list, int]:
    """(the manifest's shards as (path, sha256), the staged files written to disk)."""
    seen = {}
    real_drop = split_module.StagedDrop

    def measuring(paths):   # the staged files on disk after the write step, before their deletion (staged_drop.py)
        seen["files"] = sum(os.path.exists(p) for p in paths)
        return real_drop(paths)

    with monkeypatch.context() as m:
        m.setattr(split_module, "StagedDrop", measuring)
        run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="t", group_by=["month", "day"],
                              label="label", progress=False, memory_limit="64MiB", **options))
    manifest = read_manifest(out)
    return [(s.path, s.sha256) for s in manifest.shards], seen["files"]


def test_shards_are_the_same_bytes_whatever_the_staging_budget_holds(tmp_path, monkeypatch):
    src = _inputs(tmp_path)
    on_disk, files = _split(src, tmp_path / "disk", monkeypatch, staging_memory=0)
    assert files > 1
    default, files_again = _split(src, tmp_path / "default", monkeypatch)   # the default: staged files only
    assert files_again == files and default == on_disk
    in_memory, none = _split(src, tmp_path / "memory", monkeypatch, staging_memory="64MiB")   # holds every batch
    assert none == 0 and in_memory == on_disk
    # a budget smaller than the staged bytes: some batches in memory, the rest in staged files
    part, some = _split(src, tmp_path / "part", monkeypatch, staging_memory=150_000)
    assert 0 < some < files and part == on_disk
    assert not stage_memory._STORES, "the store is dropped after the run"


def test_the_store_is_dropped_when_the_reduce_step_fails(tmp_path, monkeypatch):
    src = _inputs(tmp_path, files=2)
    held = []

    def failing(jobs, ctx):
        held.append(stage_memory.store_for(jobs[0].slices[0][0]))
        raise OSError(errno.EIO, "injected")

    monkeypatch.setattr(split_module, "reduce_groups", failing)
    with pytest.raises(Exception):
        run_split(SplitConfig(inputs=[str(src)], out=str(tmp_path / "o"), time_column="t", group_by=["month"],
                              progress=False, staging_memory="64MiB"))
    assert held and held[0] is not None and held[0].used > 0
    assert not stage_memory._STORES and not held[0].batches


def test_staging_memory_is_checked():
    with pytest.raises(ConfigError, match="staging_memory"):
        SplitConfig(inputs=["x"], out="o", staging_memory="-1MB")
    assert SplitConfig(inputs=["x"], out="o").staging_memory == 0
    assert SplitConfig(inputs=["x"], out="o", staging_memory="2MiB").staging_memory == 2 << 20


SIZES = st.one_of(st.integers(0, 3 * directwrite.ALIGN),
                  st.sampled_from([directwrite.CHUNK - 1, directwrite.CHUNK, directwrite.CHUNK + 1,
                                   2 * directwrite.CHUNK + 4097]))


def _at(data: bytes, offset: int):
    """``data`` in a buffer starting ``offset`` bytes past a page boundary."""
    raw = np.empty(len(data) + 2 * directwrite.ALIGN, np.uint8)
    start = -raw.ctypes.data % directwrite.ALIGN + offset
    raw[start:start + len(data)] = np.frombuffer(data, np.uint8)
    return pa.py_buffer(raw[start:start + len(data)])


@settings(deadline=None, max_examples=40)
@given(size=SIZES, direct=st.booleans(), offset=st.sampled_from([0, 1, 512, directwrite.ALIGN - 8]))
def test_a_shard_file_holds_exactly_its_bytes(tmp_path_factory, size, direct, offset):
    path = tmp_path_factory.mktemp("w") / "f.parquet"
    path.write_bytes(b"x" * (size + 5000))   # an older, longer file is replaced
    data = np.random.default_rng(size).bytes(size)
    real = directwrite._DIRECT
    directwrite._DIRECT = real if direct else 0
    try:
        directwrite.write_file(str(path), _at(data, offset))
    finally:
        directwrite._DIRECT = real
    assert path.read_bytes() == data


def test_bytes_at_a_page_boundary_are_written_without_a_copy(tmp_path, monkeypatch):
    def no_copy():
        raise AssertionError("copied into the aligned buffer")

    monkeypatch.setattr(directwrite, "_aligned", no_copy)
    data = np.random.default_rng(3).bytes(2 * directwrite.CHUNK + 3 * directwrite.ALIGN + 5)
    directwrite.write_file(str(tmp_path / "f"), _at(data, 0))
    assert (tmp_path / "f").read_bytes() == data
    if directwrite._DIRECT and directwrite._write_direct(str(tmp_path / "probe"), _at(bytes(directwrite.ALIGN), 0)):
        with pytest.raises(AssertionError):   # bytes elsewhere do go through it
            directwrite.write_file(str(tmp_path / "g"), _at(data, 1))


def test_a_filesystem_refusing_direct_writes_gets_a_plain_write(tmp_path, monkeypatch):
    real_open = os.open

    def refusing(path, flags, *args):
        if flags & directwrite._DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(directwrite.os, "open", refusing)
    data = np.random.default_rng(1).bytes(3 * directwrite.ALIGN + 17)
    directwrite.write_file(str(tmp_path / "f"), data)
    assert (tmp_path / "f").read_bytes() == data


def test_a_full_disk_is_raised_not_hidden(tmp_path, monkeypatch):
    real_write = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(directwrite.os, "write", full)
    with pytest.raises(OSError) as info:
        directwrite.write_file(str(tmp_path / "f"), bytes(2 * directwrite.ALIGN))
    assert info.value.errno == errno.ENOSPC
    monkeypatch.setattr(directwrite.os, "write", real_write)


VALUES = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.none()), max_size=60)


@settings(deadline=None, max_examples=60)
@given(values=VALUES, dtype=st.sampled_from([pa.float16(), pa.float32(), pa.float64()]),
       cut=st.integers(0, 5), chunked=st.booleans())
def test_nan_counts_are_exact(values, dtype, cut, chunked):
    arr = pa.array(values, pa.float64()).cast(dtype).slice(min(cut, len(values)))
    col = pa.chunked_array([arr.slice(0, len(arr) // 2), arr.slice(len(arr) // 2)], dtype) if chunked else arr
    reference = sum(1 for v in arr.to_pylist() if v is not None and v != v)
    assert count_nan(col) == reference


def test_background_writes_raise_their_error_and_are_all_done_on_leaving(tmp_path):
    data = np.random.default_rng(2).bytes(3 * directwrite.ALIGN + 1)
    with pytest.raises(FileNotFoundError):
        with directwrite.ShardWrites(pending=1) as writes:
            writes.submit(str(tmp_path / "a"), data)
            writes.submit(str(tmp_path / "missing" / "b"), data)   # no such directory
            writes.submit(str(tmp_path / "c"), data)
    assert (tmp_path / "a").read_bytes() == data
    with pytest.raises(KeyError):   # the caller's own error wins; the writes in flight still finish
        with directwrite.ShardWrites() as writes:
            for name in "xyz":
                writes.submit(str(tmp_path / name), data)
            raise KeyError("caller")
    assert all((tmp_path / name).read_bytes() == data for name in "xyz")


def test_shared_marks_still_catch_a_row_written_by_two_tasks(tmp_path):
    """Local reduce tasks mark one shared bitmap per source (sharedmarks.py) and return none of their
    own: a row written by two tasks is caught by the counts, as one written twice by one task."""
    from datagen.contract.errors import ConservationError
    from splitters.conservation import check_conservation
    from splitters.plan import plan_units
    from splitters.reduce import GroupJob, ReduceResult, reduce_groups
    from splitters.sharedmarks import shared_marks
    from splitters.sources import discover
    from splitters.stage import StageContext, stage_unit
    from splitters.writeplan import write_context

    src = _inputs(tmp_path, files=1, rows=500)
    sources = discover([str(src)])
    schema = pq.read_schema(src / "f0.parquet")
    staging = tmp_path / "staging"
    staging.mkdir()
    ctx = StageContext(str(staging), schema, "t", None, "UTC", ("year",), frozenset({"year"}), "error", 1000, ())
    stage = [stage_unit(u, ctx) for u in plan_units(sources, 1000)]
    (slice_,) = [(f.path, b, n) for f in stage[0].files for _, b, n in f.groups]   # one year
    cfg = SplitConfig(inputs=[str(src)], out=str(tmp_path / "out"), time_column="t", group_by=["year"])
    root = str(tmp_path / "shards")
    wctx = write_context(cfg, sources, schema, stage, root)
    with shared_marks(root) as marks:
        one = reduce_groups([GroupJob(0, "", {}, (slice_,))], wctx)
        assert one.written == {} and one.counts == {0: 500}
        assert check_conservation(sources, stage, [one, ReduceResult([], marks.packed())])[0] == (500, 500, 0)
        two = reduce_groups([GroupJob(1, "", {}, (slice_,))], wctx)
        with pytest.raises(ConservationError, match="1,000 rows were written for 500 distinct"):
            check_conservation(sources, stage, [one, two, ReduceResult([], marks.packed())])
