"""Local staged files (splitters/staged_direct.py, staged_writes.py): written past the page cache as two
Arrow IPC streams with each group's batch at a recorded byte range, and read back group by group.
Every group read back equals the slice of the staged batch it was cut from (values, types, nulls,
dictionary columns with their values, schema metadata), whether the file was written by the task
or by the run's background writer, on a filesystem that takes O_DIRECT or one that may not; a write
that fails is reported naming the file, and no write is running after the run's scope is left."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from datagen.contract.errors import OutputError
from splitters.staged_direct import DirectReads, Part
from splitters.staged_writes import write_local, writer_for, writing_staged
from splitters.stage_write import encode_text


def _batch(n: int, seed: int, text_kinds: int, nulls: float) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    mask = rng.random(n) < nulls
    words = np.array(["alpha", "", "gamma δ", "x" * 300, "naïve"])[:max(text_kinds, 1)]
    table = pa.table({
        "t": pa.array(rng.integers(-2**62, 2**62, n), pa.timestamp("ns", tz="UTC"), mask=mask),
        "f": pa.array(rng.normal(size=n).astype(np.float32)),
        "i": pa.array(rng.integers(-5, 5, n), mask=mask),
        "s": pa.array(rng.choice(words, n), mask=rng.random(n) < nulls),   # repetitive: dictionary-encoded
        "u": pa.array([f"row {k}" for k in range(n)], pa.large_string()),  # distinct: stays text
        "b": pa.array(rng.random(n) < 0.5),
    })
    table = encode_text(table).combine_chunks().replace_schema_metadata({b"datagen.source_id": b"7"})
    return table.to_batches()[0] if n else pa.RecordBatch.from_pylist([], schema=table.schema)


def _cuts(n: int, data) -> list[int]:
    counts, left = [], n
    while left:
        c = data.draw(st.integers(1, left))
        counts.append(c)
        left -= c
    return counts


def _read_back(path: str, groups: list, budget: int = 256 << 20) -> list[pa.RecordBatch]:
    """Each group's part read back as the reduce step does: planned, read ahead by the reader's thread
    within ``budget`` bytes, taken in turn (one group per part here)."""
    reads = DirectReads(budget=budget)
    try:
        jobs = [(k, ((path, where, rows),)) for k, (_, where, rows) in enumerate(groups)]
        reads.plan(jobs)
        return [reads.take(k, slices)[0] for k, slices in jobs]
    finally:
        reads.close()


def _check(batch: pa.RecordBatch, counts: list[int], groups: list, back: list[pa.RecordBatch]) -> None:
    assert [rows for _, _, rows in groups] == counts
    assert all(isinstance(where, Part) for _, where, _ in groups)
    offset = 0
    for count, got in zip(counts, back):
        want = batch.slice(offset, count)
        assert got.schema.equals(batch.schema, check_metadata=True)
        assert got.equals(want)
        for i, f in enumerate(batch.schema):
            if pa.types.is_dictionary(f.type):
                assert got.column(i).dictionary.equals(batch.column(i).dictionary)
        offset += count


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3000), seed=st.integers(0, 2**32 - 1), text_kinds=st.integers(0, 5),
       nulls=st.sampled_from([0.0, 0.1, 1.0]), background=st.booleans(), data=st.data())
def test_property_every_group_reads_back_as_staged(tmp_path_factory, n, seed, text_kinds, nulls, background, data):
    batch = _batch(n, seed, text_kinds, nulls)
    counts = _cuts(n, data)
    keys = [(k,) for k in range(len(counts))]
    staging = tmp_path_factory.mktemp("staging")
    path = str(staging / "u000000-0000.arrow")
    if background:
        with writing_staged(str(staging), True) as writer:
            groups = write_local(batch, keys, counts, path)
            writer.flush(str(staging))
            back = _read_back(path, groups, data.draw(st.sampled_from([0, 4096, 256 << 20])))
    else:
        groups = write_local(batch, keys, counts, path)
        back = _read_back(path, groups)
    _check(batch, counts, groups, back)
    assert [key for key, _, _ in groups] == keys
    assert os.path.getsize(path) == groups[-1][1].end + 8   # the second stream's end-of-stream marker last


@pytest.mark.parametrize("where", ["tmp", "shm"])
def test_files_larger_than_a_block_on_disk_and_in_memory_filesystems(tmp_path, where):
    root = tmp_path if where == "tmp" else Path("/dev/shm")
    if not root.is_dir():
        pytest.skip("no /dev/shm here")
    staging = root / f"datagen-test-staging-{os.getpid()}"
    staging.mkdir(exist_ok=True)
    try:
        batch = _batch(70_000, 5, 3, 0.05)   # ~6 MB: whole blocks written directly, the tail plainly
        counts = [1, 4095, 30_000, 25_904, 10_000]
        with writing_staged(str(staging), True) as writer:
            paths = [str(staging / f"u{k:06d}-0000.arrow") for k in range(3)]
            written = [write_local(batch, [(c,) for c in range(5)], counts, p) for p in paths]
            writer.flush()
            for p, groups in zip(paths, written):
                _check(batch, counts, groups, _read_back(p, groups))
    finally:
        for p in staging.iterdir():
            p.unlink()
        staging.rmdir()


def test_a_failed_background_write_is_raised_naming_the_file(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    batch = _batch(100, 1, 2, 0.0)
    missing = str(staging / "gone" / "u000001-0000.arrow")   # its directory does not exist
    with writing_staged(str(staging), True) as writer:
        assert writer_for(missing) is writer
        write_local(batch, [(0,)], [100], missing)
        with pytest.raises(OutputError, match="u000001-0000.arrow"):
            writer.flush(str(tmp_path))
    assert writer_for(missing) is None   # the scope is gone with its writer
    with pytest.raises(FileNotFoundError, match="u000001-0000.arrow"):   # no writer: the task's own write
        write_local(batch, [(0,)], [100], missing)
