"""The per-shard costs of decoding, cut without changing a value: small shards decoded in runs per
reader task (any grouping gives the same windows and batches), shards opened with pyarrow's own
reader (the same columns as ParquetFile), real paths resolved by the kernel (the same path as
os.path.realpath), and the conversions' fast paths (the same values and dtypes as the general ones)."""

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen import DataGenerator
from datagen.contract.manifest import read_manifest
from datagen.contract import realpath as realpath_mod
from datagen.contract.realpath import real_path
from datagen.reader import decode as decode_mod
from datagen.reader.decode import reader_tasks
from datagen.reader.outputs import float_matrix, label_array, label_dtype
from gen_fixtures import FEATURES


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.integers(1, 5000), max_size=40), task_rows=st.integers(1, 20000))
def test_reader_tasks_keep_order_and_close_a_run_once_it_is_big_enough(rows, task_rows):
    shards = list(enumerate(rows))
    tasks = reader_tasks(shards, task_rows)
    assert [s for t in tasks for s in t] == [s for s, _ in shards]
    size = dict(shards)
    for i, task in enumerate(tasks):
        total = sum(size[s] for s in task)
        assert total - size[task[-1]] < task_rows  # the run closed as soon as it reached task_rows
        if i < len(tasks) - 1:
            assert total >= task_rows


@settings(max_examples=30, deadline=None)
@given(task_rows=st.sampled_from([1, 700, 3000, 10**9]), seed=st.integers(0, 3), shuffle=st.booleans())
def test_any_grouping_of_shards_into_tasks_gives_the_same_batches(dataset, task_rows, seed, shuffle):
    def batches():
        gen = DataGenerator(dataset, FEATURES, label="label", batch_size=1000, shuffle=shuffle, seed=seed)
        return [gen[i] for i in range(len(gen))]

    reference = batches()  # TASK_ROWS as shipped
    old = decode_mod.TASK_ROWS
    decode_mod.TASK_ROWS = task_rows
    try:
        got = batches()
    finally:
        decode_mod.TASK_ROWS = old
    for (x0, y0), (x1, y1) in zip(reference, got, strict=True):
        assert np.array_equal(x0, x1) and np.array_equal(y0, y1) and x0.dtype == x1.dtype and y0.dtype == y1.dtype


def test_open_shard_reads_what_parquetfile_reads(dataset):
    gen = DataGenerator(dataset, {"num": FEATURES, "cat": ["category"]}, label="label")
    access = gen.source.shards
    m = read_manifest(dataset)
    columns = ["category", *FEATURES, "label", "_source_id"]
    for index in gen.source.selected[:3]:
        path = os.path.join(dataset, m.shards[index].path)
        with access.open(index) as shard, pq.ParquetFile(path, read_dictionary=["category"]) as pf:
            for rg in range(pf.num_row_groups):
                assert shard.read(rg, columns).equals(pf.read_row_group(rg, columns=columns))


@pytest.fixture
def tree(tmp_path):
    """Files, directories and symlinks of every kind os.path.realpath resolves."""
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f.parquet").write_bytes(b"x")
    os.symlink("d", tmp_path / "rel")                       # relative link to a directory
    os.symlink(tmp_path / "d" / "e", tmp_path / "abs")      # absolute link
    os.symlink("rel/e/f.parquet", tmp_path / "chain")       # a link through a link
    os.symlink("missing", tmp_path / "dangling")
    os.symlink("loop2", tmp_path / "loop1")
    os.symlink("loop1", tmp_path / "loop2")
    os.mkfifo(tmp_path / "fifo")
    return tmp_path


CASES = ["d/e/f.parquet", "rel/e/f.parquet", "abs/f.parquet", "chain", "rel/../d/e/f.parquet", "abs/../e",
         "dangling", "loop1/x", "missing/f", "fifo", "d/e/f.parquet/x", "d", "rel/./e//f.parquet"]


@pytest.mark.parametrize("kernel", [True, False])
def test_real_path_is_realpath(tree, kernel, monkeypatch):
    if not kernel:
        monkeypatch.setattr(realpath_mod, "_O_PATH", None)  # the fallback where there is no O_PATH
    for case in CASES:
        for path in (str(tree / case), os.path.relpath(tree / case)):
            assert real_path(path) == os.path.realpath(path), path


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.lists(st.one_of(st.none(), st.floats(width=32)), max_size=6), min_size=1, max_size=4),
       kind=st.sampled_from([pa.float32(), pa.float64()]), dtype=st.sampled_from(["float32", "float64"]),
       other=st.booleans())
def test_float_columns_of_any_chunking_are_their_values(chunks, kind, dtype, other):
    col = pa.chunked_array([pa.array(c, kind) for c in chunks], kind)
    values = [v for c in chunks for v in c]
    columns = [col, pa.array(range(len(values)), pa.int16())] if other else [col]
    out = np.full((len(values) + 2, len(columns)), 7, dtype=dtype)
    got = float_matrix(columns, dtype, out[1:-1])
    want = np.array([np.nan if v is None else v for v in values], dtype=dtype)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out[1:-1, 0], want)  # nulls and NaN are NaN, others the nearest dtype value
    if other:
        assert out[1:-1, 1].tolist() == list(range(len(values)))
    assert (out[[0, -1]] == 7).all()  # only the given rows written


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]),
       chunks=st.lists(st.lists(st.integers(0, 127), max_size=5), min_size=1, max_size=3), chunked=st.booleans())
def test_integer_labels_have_their_declared_dtype(kind, chunks, chunked):
    arrays = [pa.array(c, pa.type_for_alias(kind)) for c in chunks]
    col = pa.chunked_array(arrays, pa.type_for_alias(kind)) if chunked else pa.concat_arrays(arrays)
    out = label_array(col, kind, None, "y", "here")
    assert out.dtype == np.dtype(label_dtype(kind).to_pandas_dtype())
    assert out.tolist() == [v for c in chunks for v in c]
