"""Local staged files (splitters/staged_direct.py, staged_writes.py): written past the page cache as two
Arrow IPC streams with each group's batch at a recorded byte range, and read back group by group.
Every group read back equals the slice of the staged batch it was cut from (values, types, nulls,
dictionary columns with their values, schema metadata), however far ahead the reads run, on a
filesystem that takes O_DIRECT or one that may not; a write that fails is reported naming the file;
a run's staged files go direct only past the bytes the page cache holds without writing back, and
both kinds in one run give the reference's shards."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from datagen.contract.errors import OutputError
from splitters.staged_direct import DirectReads, Part
from splitters.staged_writes import writer_for, writing_staged
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
       nulls=st.sampled_from([0.0, 0.1, 1.0]), budget=st.sampled_from([0, 4096, 256 << 20]), data=st.data())
def test_property_every_group_reads_back_as_staged(tmp_path_factory, n, seed, text_kinds, nulls, budget, data):
    batch = _batch(n, seed, text_kinds, nulls)
    counts = _cuts(n, data)
    keys = [(k,) for k in range(len(counts))]
    staging = tmp_path_factory.mktemp("staging")
    path = str(staging / "u000000-0000.arrow")
    with writing_staged(str(staging), True) as writer:
        groups = writer.write(batch, keys, counts, path)
        writer.flush(str(staging))
        back = _read_back(path, groups, budget)
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
            written = [writer.write(batch, [(c,) for c in range(5)], counts, p) for p in paths]
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
        writer.write(batch, [(0,)], [100], missing)
        writer._pool.submit(lambda: None).result()   # the one background thread has run the failed write
        with pytest.raises(FileNotFoundError):   # the next staged file is refused before it is submitted
            writer.write(batch, [(0,)], [100], str(staging / "u000002-0000.arrow"))
        assert not (staging / "u000002-0000.arrow").exists()
        with pytest.raises(OutputError, match="u000001-0000.arrow"):
            writer.flush(str(tmp_path))
    assert writer_for(missing) is None   # the scope is gone with its writer


def test_goes_direct_past_the_bytes_the_page_cache_holds(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    with writing_staged(str(staging), True, cached=250) as writer:
        assert [writer.goes_direct(100) for _ in range(4)] == [False, False, True, True]
    from splitters.staged_writes import writeback_start

    limit = writeback_start()
    if os.path.exists("/proc/sys/vm/dirty_background_ratio"):
        assert limit is not None and limit > 0


def test_split_shards_are_the_same_whichever_staged_files_go_direct(tmp_path, monkeypatch):
    """All staged files direct (nothing left to the page cache), the first few ordinary then direct,
    all ordinary (the page cache holds them all): the same shards, byte for byte, holding the
    reference's rows."""
    import hashlib

    import pandas as pd
    import pyarrow.parquet as pq

    from datagen.contract.manifest import read_manifest
    from splitters import staged_writes
    from splitters.config import SplitConfig
    from splitters.split import run_split

    rng = np.random.default_rng(3)
    src = tmp_path / "in"
    src.mkdir()
    frames = []
    for k in range(3):
        n = 4000
        frame = pd.DataFrame({"t": pd.to_datetime(rng.integers(0, 90 * 86_400, n), unit="s", utc=True),
                              "x": rng.normal(size=n), "c": rng.choice(["a", "b", None], n),
                              "label": rng.integers(0, 2, n)})
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), src / f"p{k}.parquet", row_group_size=1000)
        frames.append(frame)
    want = pd.concat(frames).sort_values(["t", "x"]).reset_index(drop=True)
    real = staged_writes.StagedWriter.goes_direct
    runs, sizes = {}, []
    for mode in ("ordinary", "mixed", "direct"):
        # mixed: past the largest staged batch, so the first decision is always ordinary, the last direct
        cached = {"ordinary": 1 << 40, "mixed": max(sizes or [0]), "direct": 0}[mode]
        monkeypatch.setattr(staged_writes, "writeback_start", lambda: cached)
        kinds = []
        monkeypatch.setattr(staged_writes.StagedWriter, "goes_direct",
                            lambda self, n: sizes.append(n) or kinds.append(real(self, n)) or kinds[-1])
        out = tmp_path / f"out-{mode}"
        run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="t", group_by=["month"],
                              label="label", progress=False, workers=2, memory_limit=64 << 20))
        assert len(kinds) > 3
        # two stage threads: the decisions are taken in turn, but may be recorded out of turn
        assert all(kinds) if mode == "direct" else not any(kinds) if mode == "ordinary" else \
            0 < kinds.count(False) < len(kinds)
        manifest = read_manifest(str(out))
        digests = {s.path: hashlib.sha256((out / s.path).read_bytes()).hexdigest() for s in manifest.shards}
        assert digests == {s.path: s.sha256 for s in manifest.shards}
        got = pd.concat([pq.read_table(out / s.path).to_pandas() for s in manifest.shards])
        got = got[want.columns].sort_values(["t", "x"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        runs[mode] = digests
    assert runs["ordinary"] == runs["mixed"] == runs["direct"]


@pytest.mark.parametrize("code", [errno.EINVAL, errno.EIO])
def test_a_refused_direct_read_is_read_plainly_and_other_errors_name_the_file(tmp_path, monkeypatch, code):
    """A filesystem may accept an O_DIRECT open and refuse the read itself (EINVAL): the part is read
    again without O_DIRECT. Any other read error is raised naming the staged file."""
    import fcntl

    from splitters import staged_direct

    staging = tmp_path / "staging"
    staging.mkdir()
    batch = _batch(5000, 2, 3, 0.1)
    path = str(staging / "u000000-0000.arrow")
    with writing_staged(str(staging), True) as writer:
        groups = writer.write(batch, [(0,), (1,)], [2000, 3000], path)
        writer.flush()
    real = os.preadv

    def preadv(fd, buffers, offset):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0) or code == errno.EIO:
            raise OSError(code, os.strerror(code))
        return real(fd, buffers, offset)

    monkeypatch.setattr(staged_direct.os, "preadv", preadv)
    if code == errno.EINVAL:
        _check(batch, [2000, 3000], groups, _read_back(path, groups))
    else:
        with pytest.raises(OutputError, match=re.escape(f"cannot read the staged file {path!r} back: Input/output error")):
            _read_back(path, groups)
