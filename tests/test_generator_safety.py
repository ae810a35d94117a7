"""The generator never changes a value silently, never fails mid-epoch for a reason the manifest
already shows, never hangs under model.fit(use_multiprocessing=True), and turns every bad option
into one line of the error hierarchy at construction (issue #10: A8, A9, A10, B, C)."""

import decimal
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen import DataGenerator
from datagen.contract.errors import (ColumnError, ConfigError, DatagenError, FilterError, ShardError, TransformError,
                                     UsageError)
from datagen.contract.hashing import sha256_file
from datagen.contract.manifest import read_manifest
from datagen.reader.outputs import float_matrix, label_array, lineage_int64
from gen_fixtures import FEATURES, ROWS
from manifest_edit import dump, load  # shards as entries, written back as the format's table

N = 40
BIG = 3_000_000_000


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """40 rows grouped by ``grp`` (0, 1, 2 and a null group), label ``lab`` (int64 0..4), and columns
    whose values float32 or int32 cannot hold."""
    from click.testing import CliRunner

    from splitters.cli import main

    src = tmp_path_factory.mktemp("hostile-src")
    i = np.arange(N)
    pq.write_table(pa.table({
        "ts": pa.array(i * 86_400 * 10**9, type=pa.timestamp("ns")),
        "grp": pa.array([None if k % 10 == 0 else k % 3 for k in range(N)], type=pa.int64()),
        "big": pa.array(BIG + i, type=pa.int64()),
        "huge": pa.array(2**24 + 1 + i, type=pa.int64()),
        "dec": pa.array([decimal.Decimal(k) + decimal.Decimal("0.5") for k in range(N)], type=pa.decimal128(10, 2)),
        "dbl": pa.array(1 / 3 + i, type=pa.float64()),
        "small": pa.array(i % 7, type=pa.int8()),
        "flag": pa.array(i % 2 == 0),
        "lab": pa.array(i % 5, type=pa.int64()),
        "labn": pa.array([None if k == 7 else 1 for k in range(N)], type=pa.int64()),
        "wn": pa.array([None if k == 7 else 1.0 for k in range(N)], type=pa.float64()),
        "text": pa.array([f"t{k}" for k in range(N)]),
    }), src / "a.parquet")
    out = tmp_path_factory.mktemp("hostile-ds") / "ds"
    r = CliRunner().invoke(main, [str(src), "--out", str(out), "--time-column", "ts", "--group-by", "grp",
                                  "--label", "lab", "--no-progress"])
    assert r.exit_code == 0, r.output
    return out


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message and "Traceback" not in message, message
    return message


def _all(gen, k):
    return np.concatenate([gen[i][k] for i in range(len(gen))])


# -- A8: labels keep their values ------------------------------------------------------------------
def test_labels_keep_their_values(hostile):
    truth = np.arange(N)
    got = _all(DataGenerator(hostile, ["dbl"], label="big", batch_size=7), 1)
    assert got.dtype == np.int64 and sorted(got.tolist()) == (BIG + truth).tolist()
    got = _all(DataGenerator(hostile, ["dbl"], label="dec", batch_size=7), 1)
    assert got.dtype == np.float64 and sorted(got.tolist()) == (truth + 0.5).tolist()
    got = _all(DataGenerator(hostile, ["dbl"], label="dbl", batch_size=7), 1)
    assert got.dtype == np.float64 and sorted(got.tolist()) == (1 / 3 + truth).tolist()
    assert _all(DataGenerator(hostile, ["dbl"], label="small", batch_size=7), 1).dtype == np.int32
    assert sorted(_all(DataGenerator(hostile, ["dbl"], label="flag", batch_size=7), 1).tolist()) == [0] * 20 + [1] * 20


def test_label_from_a_group_column_keeps_its_value(hostile):
    gen = DataGenerator(hostile, ["dbl"], label="grp", batch_size=64, where="grp != None")
    assert sorted(set(_all(gen, 1).tolist())) == [0, 1, 2] and gen[0][1].dtype == np.int64
    with pytest.raises(ColumnError, match=r"label column 'grp' has 4 null values .*grp=__HIVE_DEFAULT_PARTITION__"):
        DataGenerator(hostile, ["dbl"], label="grp")


def test_label_conversion_rules_with_real_arrow_arrays():
    big = pa.chunked_array([[BIG, -BIG], [2**62]])
    assert label_array(big, "int64", None, "y", "here").tolist() == [BIG, -BIG, 2**62]
    dec = pa.array([decimal.Decimal("0.5"), decimal.Decimal("-2.25")], type=pa.decimal128(5, 2))
    assert label_array(dec, "decimal128(5, 2)", None, "y", "here").tolist() == [0.5, -2.25]
    assert label_array(pa.array([2**32 - 1], pa.uint32()), "uint32", None, "y", "h").tolist() == [2**32 - 1]
    assert label_array(pa.array([2**64 - 1], pa.uint64()), "uint64", None, "y", "h").tolist() == [2**64 - 1]
    assert label_array(pa.array([2.0, 0.0]), "double", 3, "y", "h").tolist() == [2, 0]
    with pytest.raises(ColumnError, match=r"has value 0.5, expected an integer class in \[0, 3\)"):
        label_array(pa.array([0.0, 0.5]), "double", 3, "y", "h")
    with pytest.raises(ColumnError, match=r"has value 3000000000"):
        label_array(pa.array([1, BIG]), "int64", 3, "y", "h")
    with pytest.raises(ColumnError, match="1 null values"):
        label_array(pa.array([1, None]), "int64", None, "y", "h")


# -- A9: float outputs decided at construction, never failing mid-epoch ----------------------------
def test_big_integer_features_warn_at_construction_and_never_fail(hostile):
    with pytest.warns(UserWarning, match=r"\['huge', 'big'\] \(int64\) become float32.*dtype='float64'"):
        gen = DataGenerator(hostile, ["huge", "big", "dbl"], label="lab", sample_weight="big", batch_size=8,
                            shuffle=True)
    x = _all(gen, 0)
    w = _all(gen, 2)
    assert x.dtype == np.float32 and w.dtype == np.float32 and len(x) == N
    # rounded to the nearest float32, as documented
    assert sorted(x[:, 0].tolist()) == np.float32(2**24 + 1 + np.arange(N)).astype(float).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = DataGenerator(hostile, ["huge", "big", "dbl"], label="lab", sample_weight="big", batch_size=8,
                              dtype="float64")
        x, w = _all(exact, 0), _all(exact, 2)
        assert x.dtype == np.float64 and sorted(x[:, 0].tolist()) == (2**24 + 1 + np.arange(N)).tolist()
        assert sorted(w.tolist()) == (BIG + np.arange(N)).tolist()
        small = DataGenerator(hostile, ["small", "flag", "dec"], batch_size=64)  # exact in float32: no warning
        assert _all(small, 0).dtype == np.float32
    d = DataGenerator(hostile, {"n": ["big"], "t": ["text"]}, batch_size=64, dtype="float64")
    assert d[0][0]["n"].dtype == np.float64 and d[0][0]["t"].dtype == object
    assert DataGenerator.from_config(exact.config).config["dtype"] == "float64"


def test_float_matrix_rounds_instead_of_raising():
    cols = [pa.chunked_array([[2**24 + 1, None], [2**62 + 1]]), pa.array([1, 2, 3], pa.int8()),
            pa.array([decimal.Decimal("0.5")] * 3, pa.decimal128(3, 1)), pa.array([True, False, None])]
    m32 = float_matrix(cols, "float32")
    assert m32.dtype == np.float32 and m32.shape == (3, 4) and m32.flags.c_contiguous
    assert m32[0, 0] == np.float32(2**24 + 1) and np.isnan(m32[1, 0]) and np.isnan(m32[2, 3])
    m64 = float_matrix(cols, "float64")
    assert m64[0, 0] == 2**24 + 1 and m64[2, 0] == float(2**62) and m64[0, 2] == 0.5


def test_lineage_stays_int64_beyond_2_to_the_24():
    values = [2**24 + 1, 2**33 + 7, 2**62 + 3]
    for arr in (pa.array(values, pa.int64()), pa.chunked_array([values[:1], values[1:]]),
                pa.array(values, pa.uint64())):
        out = lineage_int64(arr, "_source_row", "shard 'x'")
        assert out.dtype == np.int64 and out.tolist() == values
    with pytest.raises(ShardError, match="beyond int64"):
        lineage_int64(pa.array([2**64 - 1], pa.uint64()), "_source_row", "shard 'x'")
    with pytest.raises(ShardError, match="expected integers"):
        lineage_int64(pa.array([1.5]), "_source_row", "shard 'x'")


def test_provenance_of_rows_beyond_2_to_the_24(hostile, tmp_path):
    """A real shard whose lineage says source rows past 2**33: provenance and a float64 feature of
    ``_source_row`` report them exactly."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(hostile, copy)
    data = load((copy / "manifest.json"))
    offset = 2**33 + 1
    for shard in data["shards"]:
        path = copy / shard["path"]
        t = pq.read_table(path)
        i = t.schema.get_field_index("_source_row")
        t = t.set_column(i, "_source_row", pa.array(t.column(i).to_numpy() + offset, pa.int64()))
        pq.write_table(t, path)
        shard["bytes"], shard["sha256"] = path.stat().st_size, sha256_file(path)
    for src in data["sources"]:  # the sources must hold those rows for the lineage to be valid
        src["rows_read"] += offset
        src["rows_dropped"] += offset
    totals = data["totals"]
    totals["rows_read"] += offset * len(data["sources"])
    totals["rows_dropped"] += offset * len(data["sources"])
    totals["bytes"] = sum(shard["bytes"] for shard in data["shards"])
    (copy / "manifest.json").write_text(dump(data))
    gen = DataGenerator(copy, ["_source_row"], batch_size=64, dtype="float64")
    rows = sorted(gen.provenance(0)["source_row"].tolist())
    assert rows == [offset + k for k in range(N)]
    assert sorted(gen[0][0][:, 0].tolist()) == rows


# -- A10: model.fit with worker processes ----------------------------------------------------------
def test_fit_with_worker_processes_does_not_hang(dataset):
    """Real model.fit(workers=2, use_multiprocessing=True), 2 epochs, in a subprocess so that a hang
    fails the test: each epoch trains on every row exactly once, in the plan of that epoch."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    try:
        run = subprocess.run([sys.executable, str(Path(__file__).with_name("mp_fit_child.py")), str(dataset), "2",
                              "2"], capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("model.fit(use_multiprocessing=True) hung (no result after 300 s)")
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for epoch in ("0", "1"):
        seen = result["seen"][epoch]
        assert seen == result["expected"][epoch]
        assert sorted(i for batch in seen for i in batch) == list(range(ROWS))
    assert result["seen"]["0"] != result["seen"]["1"]


def test_forked_child_after_parent_decoded(dataset):
    """A child forked while the parent holds pools and cached windows reads every batch itself."""
    import multiprocessing

    gen = DataGenerator(dataset, ["f0", "f1"], label="label", batch_size=500, shuffle=True, seed=1,
                        memory_budget="1MiB")
    expected = [gen[i][0] for i in range(len(gen))]  # pools, cache and a prefetch exist now
    assert gen.source.decoder._reader_pool is not None or gen.source.windows._prefetcher is not None
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map_async(gen.__getitem__, range(len(gen))).get(timeout=120)
    for (x, _), e in zip(got, expected):
        assert np.array_equal(x, e)


# -- C: indices, where and nulls -------------------------------------------------------------------
def test_out_of_range_indices_name_the_index(hostile):
    gen = DataGenerator(hostile, ["dbl"], batch_size=10)
    n = len(gen)
    assert np.array_equal(gen[-1][0], gen[n - 1][0]) and np.array_equal(gen[-n][0], gen[0][0])
    for bad in (n, n + 5, -n - 1, -10**20):
        with pytest.raises(IndexError, match=rf"batch index {bad} out of range: this generator has {n} batches "
                                             rf"\(valid indices 0..{n - 1}, or -{n}..-1"):
            gen[bad]
    with pytest.raises(TypeError, match="batch index must be an integer, got 1.5"):
        gen[1.5]
    assert np.array_equal(gen[np.int64(1)][0], gen[1][0])


def test_where_on_a_null_group(hostile):
    shards = read_manifest(hostile).shards
    rows = {s.group["grp"]: s.rows for s in shards}
    assert DataGenerator(hostile, ["dbl"], where="grp > 0").num_rows == rows[1] + rows[2]
    assert DataGenerator(hostile, ["dbl"], where="grp <= 1").num_rows == rows[0] + rows[1]
    assert DataGenerator(hostile, ["dbl"], where="grp == None").num_rows == rows[None]
    assert DataGenerator(hostile, ["dbl"], where="grp != 2").num_rows == N - rows[2]
    assert DataGenerator(hostile, ["dbl"], where={"grp": [None, 0]}).num_rows == rows[None] + rows[0]
    with pytest.raises(FilterError, match="column 'grp' holds number values"):
        DataGenerator(hostile, ["dbl"], where="grp < 'a'")


@pytest.mark.parametrize("where", [
    "grp == -'a'", "not " * 3000 + "grp == 1", "not " * 2000 + "grp == 1", "(" * 500 + "grp" + ")" * 500,
    "grp == [[1]]", "grp in [[1]]", "grp in grp", "grp.__class__", "__import__('os')", "grp == 1 +", "\x00",
    "grp is None", "grp == 1j", "lambda: 1", "grp", "", "   ", "x" * 20_000, {"grp": [[1]]}, {"grp": {"a": 1}},
    {"nope": 1}, {3: 1}, {"grp": "a"}, 5, ["grp == 1"]])
def test_bad_where_is_one_line(hostile, where):
    with pytest.raises(UsageError) as info:
        DataGenerator(hostile, ["dbl"], where=where)
    assert isinstance(info.value, (FilterError, ConfigError))
    assert len(_one_line(info.value)) < 400


# -- every bad option: one line at construction ------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, needle", [
    ({"memory_budget": "infMB"}, ConfigError, "memory_budget"),
    ({"memory_budget": "1e400MB"}, ConfigError, "memory_budget"),
    ({"memory_budget": float("inf")}, ConfigError, "memory_budget"),
    ({"memory_budget": float("nan")}, ConfigError, "memory_budget"),
    ({"memory_budget": -1}, ConfigError, "memory_budget"),
    ({"memory_budget": 10**30}, ConfigError, "memory_budget"),
    ({"memory_budget": "nanGB"}, ConfigError, "memory_budget"),
    ({"memory_budget": True}, ConfigError, "memory_budget"),
    ({"memory_budget": [1]}, ConfigError, "memory_budget"),
    ({"features": ["nope"]}, ColumnError, "'nope' is not in the dataset"),
    ({"features": []}, ConfigError, "features"),
    ({"features": ["dbl", "dbl"]}, ConfigError, "'dbl' is listed twice"),
    ({"features": {"a": ["dbl", "dbl"]}}, ConfigError, "'dbl' is listed twice"),
    ({"features": {"a": []}}, ConfigError, "features['a']"),
    ({"features": {}}, ConfigError, "features"),
    ({"features": [1]}, ConfigError, "column names"),
    ({"features": [["dbl"]]}, ConfigError, "column names"),
    ({"features": 5}, ConfigError, "features"),
    ({"features": ["text"]}, ColumnError, "'text' has type string"),
    ({"features": {"a": ["text", "dbl"]}}, ColumnError, "all numeric or all text"),
    ({"label": "text"}, ColumnError, "label column 'text' has type string"),
    ({"label": ["lab"]}, ConfigError, "label"),
    ({"label": "labn"}, ColumnError, "label column 'labn' has 1 null values"),  # from the footers' statistics
    ({"label": "lab", "sample_weight": "wn"}, ColumnError, "sample_weight column 'wn' has 1 null values"),
    ({"sample_weight": "dbl"}, ConfigError, "needs a label column"),
    ({"label": "dec", "num_classes": 3}, ColumnError, "has value Decimal('39.50')"),
    ({"label": "lab", "sample_weight": "grp"}, ColumnError, "sample_weight column 'grp' is a group column"),
    ({"batch_size": 41, "drop_remainder": True}, ConfigError, "only 40 rows"),
    ({"label": "lab", "num_classes": 3}, ColumnError, "has value 3"),
    ({"label": "lab", "num_classes": 10**9}, ConfigError, "one-hot"),
    ({"label": "lab", "num_classes": 1}, ConfigError, "num_classes"),
    ({"label": "lab", "num_classes": "5"}, ConfigError, "num_classes"),
    ({"num_classes": 5}, ConfigError, "label column"),
    ({"label": "lab", "sample_weight": "text"}, ColumnError, "sample_weight column 'text'"),
    ({"batch_size": 0}, ConfigError, "batch_size"),
    ({"batch_size": -3}, ConfigError, "batch_size"),
    ({"batch_size": 2.5}, ConfigError, "batch_size"),
    ({"batch_size": True}, ConfigError, "batch_size"),
    ({"shuffle": "false"}, ConfigError, "shuffle"),
    ({"drop_remainder": "no"}, ConfigError, "drop_remainder"),
    ({"use_multiprocessing": "false"}, ConfigError, "use_multiprocessing"),
    ({"workers": 0}, ConfigError, "workers"),
    ({"max_queue_size": "10"}, ConfigError, "max_queue_size"),
    ({"seed": -1}, ConfigError, "seed"),
    ({"seed": 1.5}, ConfigError, "seed"),
    ({"dtype": "float16"}, ConfigError, "dtype"),
    ({"dtype": None}, ConfigError, "dtype"),
    ({"verify": ["size"]}, ConfigError, "verify"),
    ({"transform": 5}, ConfigError, "transform"),
    ({"manifest_sha256": 5}, ConfigError, "manifest_sha256"),
])
def test_bad_options_are_one_line_at_construction(hostile, kwargs, error, needle):
    kwargs = {"features": ["dbl"], **kwargs}
    if error is None:
        DataGenerator(hostile, **kwargs)
        return
    with pytest.raises(error) as info:
        DataGenerator(hostile, **kwargs)
    assert needle in _one_line(info.value)


def test_bad_directory_types(hostile):
    for bad in (None, 5, ["x"]):
        with pytest.raises(ConfigError, match="directory: expected a path"):
            DataGenerator(bad, ["dbl"])
    for bad in (5, None, ["x"]):
        with pytest.raises(ConfigError, match="config: expected gen.config"):
            DataGenerator.from_config(bad)
    with pytest.raises(ConfigError, match="unknown key 'bogus'"):
        DataGenerator.from_config({"directory": str(hostile), "features": ["dbl"], "bogus": 1})


def test_null_labels_from_the_manifest_are_refused_at_construction(tmp_path, hostile):
    from click.testing import CliRunner

    from splitters.cli import main

    src = read_manifest(hostile).sources[0].path
    out = tmp_path / "ds"
    r = CliRunner().invoke(main, [src, "--out", str(out), "--time-column", "ts", "--label", "labn", "--no-progress"])
    assert r.exit_code == 0, r.output
    with pytest.raises(ColumnError, match=r"label column 'labn' has 1 null values \(shard .*every row needs a label"):
        DataGenerator(out, ["dbl"], label="labn")


def test_bad_epochs_and_batch_indices(hostile):
    gen = DataGenerator(hostile, ["dbl"], batch_size=10, shuffle=True)
    for bad in (-1, 1.5, "1", None, True):
        with pytest.raises(ConfigError, match="epoch: expected a non-negative integer"):
            gen.set_epoch(bad)
        if bad is not None:
            with pytest.raises(ConfigError, match="epoch: expected a non-negative integer"):
                gen.provenance(0, epoch=bad)
    with pytest.raises(TypeError, match="batch index must be an integer"):
        gen.provenance("a")
    gen.set_epoch(2**70)  # any non-negative integer seeds a shuffle
    assert len(gen[0][0]) == 10


def test_data_errors_the_manifest_cannot_show_name_the_batch(hostile):
    # within [0, 41) by the footers' min/max, but not integers: only the batch can tell
    gen = DataGenerator(hostile, ["dbl"], label="dec", num_classes=41, batch_size=64)
    with pytest.raises(ColumnError, match=r"has value \d+\.5, expected an integer class in \[0, 41\).*batch 0 of epoch"):
        gen[0]


def test_transform_errors_are_one_line(hostile):
    def broken(batch):
        raise ValueError("boom\nsecond line")

    gen = DataGenerator(hostile, ["dbl"], label="lab", batch_size=8, transform=broken)
    with pytest.raises(TransformError, match=r"^transform raised ValueError: boom \(batch 2 of epoch 0\)$") as info:
        gen[2]
    assert isinstance(info.value.__cause__, ValueError)
    gen = DataGenerator(hostile, ["dbl"], label="lab", batch_size=8, transform=lambda b: None)
    with pytest.raises(TransformError, match="transform returned None for batch 0"):
        gen[0]
    assert issubclass(TransformError, DatagenError)


def test_a_relative_directory_is_fixed_when_the_generator_is_built(dataset, monkeypatch, tmp_path):
    """The directory is made absolute once: an ``os.chdir`` after construction changes neither the
    batches nor the config (it used to be resolved again on every read, against the new directory)."""
    import os

    monkeypatch.chdir(os.path.dirname(dataset))
    gen = DataGenerator(os.path.basename(dataset), FEATURES, label="label", batch_size=700, shuffle=True, seed=3,
                        memory_budget="1MiB")
    first, config = gen[0], gen.config
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    batches = [gen[i] for i in range(len(gen))]
    assert np.array_equal(batches[0][0], first[0]) and gen.config == config
    assert config["directory"] == os.path.realpath(dataset)
    assert np.array_equal(DataGenerator.from_config(config)[1][0], batches[1][0])
