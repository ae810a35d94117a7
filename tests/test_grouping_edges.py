"""Regression tests for grouping (issue #10): many plain group columns, nulls of
categorical columns, NaN / null / -0.0, the literal string __HIVE_DEFAULT_PARTITION__,
--compact ranges, column types that cannot be grouped by, internal column names,
and group values whose path would not fit the filesystem."""

import json
import os
import re
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from datagen.dataset import arrow_dataset
from datagen.contract.manifest import read_manifest
from splitters.groupkeys import group_rows
from cli_checks import fails as _fails
from gen_fixtures import stamps


def _ok(result):
    assert result.exit_code == 0, result.output + (result.stderr or "")



def _rows_by_group(out):
    m = read_manifest(out)
    got = {}
    for s in m.shards:
        rows = pq.read_table(out / s.path).column("_source_row").to_pylist()
        got.setdefault(json.dumps(s.group, sort_keys=True), []).extend(rows)
    return m, got


def test_fifteen_plain_group_columns_each_row_its_own_group(tmp_path, run_split):
    """The packed int64 key overflowed past 2**63 and filed 14 of 20 rows under other paths."""
    n, k = 20, 15
    pq.write_table(pa.table({"ts": stamps(n, step_s=1), **{f"g{i}": np.arange(n) for i in range(k)}}), tmp_path / "a.parquet")
    _ok(run_split(tmp_path / "a.parquet", "--out", tmp_path / "out", "--time-column", "ts",
                  "--group-by", ",".join(f"g{i}" for i in range(k))))
    m = read_manifest(tmp_path / "out")
    assert len(m.shards) == n
    for s in m.shards:
        rows = pq.read_table(tmp_path / "out" / s.path).column("_source_row").to_pylist()
        assert rows == [s.group["g0"]] and set(s.group.values()) == {rows[0]}


def test_group_rows_wide_int64_columns_do_not_overflow():
    extremes = [2**63 - 1 - r if r % 2 else -2**63 + r for r in range(20)]
    columns = [pa.array(np.arange(20))] * 15 + [pa.array(extremes, pa.int64())] + [np.arange(20) % 3] * 10
    order, keys, counts = group_rows(columns)
    assert counts.tolist() == [1] * 20
    for key, row in zip(keys, order.tolist()):
        assert key == (row,) * 15 + (extremes[row],) + (row % 3,) * 10


def test_categorical_nulls_get_their_own_group(tmp_path, run_split):
    df = pd.DataFrame({"ts": pd.to_datetime(np.arange(4) * 10**9, utc=True),
                       "carrier": pd.Categorical(["AA", None, "BB", None])})
    df.to_parquet(tmp_path / "c.parquet")
    _ok(run_split(tmp_path / "c.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", "carrier"))
    m, got = _rows_by_group(tmp_path / "out")
    assert got == {'{"carrier": "AA"}': [0], '{"carrier": "BB"}': [2], '{"carrier": null}': [1, 3]}
    null = next(s for s in m.shards if s.group["carrier"] is None)
    assert re.fullmatch(r"carrier=__HIVE_DEFAULT_PARTITION__/part-00000-[0-9a-f]{16}\.parquet", null.path)


def test_float_group_rule_nan_null_and_signed_zero(tmp_path, run_split):
    """NaN and null are distinct groups; -0.0 and 0.0 are one group stored as 0.0; the
    manifest stays strict JSON ("NaN", "Infinity")."""
    f = [-0.0, 0.0, float("nan"), None, 1.5, float("nan"), float("inf"), None]
    pq.write_table(pa.table({"ts": stamps(len(f), step_s=1), "f": pa.array(f, pa.float64()), "v": np.arange(len(f))}),
                   tmp_path / "f.parquet")
    _ok(run_split(tmp_path / "f.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", "f"))
    m, got = _rows_by_group(tmp_path / "out")
    assert got == {'{"f": 0.0}': [0, 1], '{"f": "NaN"}': [2, 5], '{"f": null}': [3, 7], '{"f": 1.5}': [4],
                   '{"f": "Infinity"}': [6]}
    zero = next(s for s in m.shards if s.group["f"] == 0.0)
    assert re.fullmatch(r"f=0\.0/part-00000-[0-9a-f]{16}\.parquet", zero.path) and str(zero.group["f"]) == "0.0"
    assert {s.path.split("/")[0] for s in m.shards} == {"f=0.0", "f=NaN", "f=__HIVE_DEFAULT_PARTITION__", "f=1.5",
                                                         "f=Infinity"}
    json.loads((tmp_path / "out" / "manifest.json").read_text(), parse_constant=lambda c: pytest.fail(c))


def test_nan_group_value_is_usable_by_generator_show_and_provenance(tmp_path, run_split, run_datagen):
    f = [float("nan"), 1.0, None, float("nan")]
    pq.write_table(pa.table({"ts": stamps(4, step_s=1), "f": pa.array(f), "x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}),
                   tmp_path / "n.parquet")
    out = tmp_path / "out"
    _ok(run_split(tmp_path / "n.parquet", "--out", out, "--time-column", "ts", "--group-by", "f", "--label", "y"))
    assert run_datagen("show", out).exit_code == 0
    assert run_datagen("verify", out).exit_code == 0
    from datagen import DataGenerator

    gen = DataGenerator(out, features=["x"], label="y", batch_size=4, where={"f": ["NaN"]})
    x, y = gen[0]
    assert sorted(x[:, 0].tolist()) == [1.0, 4.0]
    prov = gen.provenance(0)
    assert sorted(prov["source_row"].tolist()) == [0, 3] and set(prov["f"]) == {"NaN"}
    assert len(DataGenerator(out, features=["x"], label="y", batch_size=4, where="f == 'NaN'")) == 1


def test_string_that_spells_the_null_directory_stays_a_string(tmp_path, run_split):
    tags = ["__HIVE_DEFAULT_PARTITION__", None, "x"]
    pq.write_table(pa.table({"ts": stamps(3, step_s=1), "tag": tags, "i": [0, 1, 2]}), tmp_path / "h.parquet")
    _ok(run_split(tmp_path / "h.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", "tag"))
    m, got = _rows_by_group(tmp_path / "out")
    assert got == {'{"tag": "__HIVE_DEFAULT_PARTITION__"}': [0], '{"tag": null}': [1], '{"tag": "x"}': [2]}
    paths = {s.group["tag"]: s.path.split("/")[0] for s in m.shards}
    assert paths["__HIVE_DEFAULT_PARTITION__"] == "tag=%5F_HIVE_DEFAULT_PARTITION__"
    assert paths[None] == "tag=__HIVE_DEFAULT_PARTITION__"
    # readers that do not URI-decode see the escaped name, never the null marker
    raw = ds.dataset(tmp_path / "out", format="parquet", exclude_invalid_files=True,
                     partitioning=ds.HivePartitioning.discover(segment_encoding="none")).to_table()
    assert dict(zip(raw.column("i").to_pylist(), raw.column("tag").to_pylist())) == \
        {0: "%5F_HIVE_DEFAULT_PARTITION__", 1: None, 2: "x"}
    # datagen's own reader takes the values from the manifest
    t = arrow_dataset(tmp_path / "out").to_table()
    assert dict(zip(t.column("i").to_pylist(), t.column("tag").to_pylist())) == dict(enumerate(tags))


def test_compact_keeps_float64_values_that_float32_cannot_hold(tmp_path, run_split):
    pq.write_table(pa.table({"ts": stamps(3, step_s=1), "big": [1e300, 1.0, -2.0], "small": [1.5, float("nan"), float("-inf")],
                             "odd": [float("nan"), float("inf"), None], "i": [1, 2, 300]}), tmp_path / "c.parquet")
    _ok(run_split(tmp_path / "c.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", "year",
                  "--compact"))
    m = read_manifest(tmp_path / "out")
    t = pq.read_table(tmp_path / "out" / m.shards[0].path)
    types = {f.name: str(f.type) for f in t.schema}
    assert types["big"] == "double" and t.column("big").to_pylist() == [1e300, 1.0, -2.0]
    assert types["small"] == "float" and types["odd"] == "float" and types["i"] == "int16"
    assert t.column("small").to_pylist()[2] == float("-inf")
    assert m.column_types["big"] == "double"


def test_compact_with_float_epoch_time_column(tmp_path, run_split):
    pq.write_table(pa.table({"t": [1.7e9, 1.7e9 + 1.5], "x": [1.0, 2.0]}), tmp_path / "e.parquet")
    _ok(run_split(tmp_path / "e.parquet", "--out", tmp_path / "out", "--time-column", "t", "--time-unit", "s",
                  "--group-by", "day", "--compact"))
    t = arrow_dataset(tmp_path / "out").to_table()
    assert t.schema.field("t").type == pa.timestamp("us", "UTC") and t.schema.field("x").type == pa.float32()


@pytest.mark.parametrize("column,values,kind", [
    ("l", [[1], [2]], "list<element: int64>"),
    ("s", [{"a": 1}, {"a": 2}], "struct<a: int64>"),
    ("mp", pa.array([[("k", 1)], [("k", 2)]], pa.map_(pa.string(), pa.int64())), "map<string, int64"),
    ("b", [b"x", b"y"], "binary"),
    ("d", pa.array([1, 2], pa.duration("s")), "duration[s]"),
])
def test_group_by_a_column_that_cannot_name_a_directory(tmp_path, run_split, column, values, kind):
    pq.write_table(pa.table({"ts": stamps(2, step_s=1), column: values}), tmp_path / "x.parquet")
    r = run_split(tmp_path / "x.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", column)
    _fails(r, 2, f"group column {column!r}", kind)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["__time_ns", "__time_ns_"])
def test_input_column_named_like_the_staged_time_column(tmp_path, run_split, name):
    pq.write_table(pa.table({"ts": stamps(5, step_s=1), name: np.arange(5) * 7, "__time_ns__": ["a"] * 5}), tmp_path / "i.parquet")
    _ok(run_split(tmp_path / "i.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", "hour"))
    t = arrow_dataset(tmp_path / "out").to_table().sort_by("_source_row")
    assert t.column(name).to_pylist() == [0, 7, 14, 21, 28] and t.column("__time_ns__").to_pylist() == ["a"] * 5


def test_group_path_longer_than_path_max_is_refused_before_writing(tmp_path, run_split):
    pq.write_table(pa.table({"ts": stamps(2, step_s=1), **{f"c{i}": ["x" * 150, "y"] for i in range(40)}}), tmp_path / "p.parquet")
    out = tmp_path / "out"
    r = run_split(tmp_path / "p.parquet", "--out", out, "--time-column", "ts",
                  "--group-by", ",".join(f"c{i}" for i in range(40)))
    _fails(r, 1, "PATH_MAX", "'xxxxxxxx", "shorter")
    assert not out.exists()


def test_group_column_name_longer_than_a_directory_name_is_refused(tmp_path, run_split):
    """A long *value* is shortened with its hash (test_long_group_values.py); a column name that leaves
    no room for one is refused before anything is written."""
    name = "é" * 40   # 240 escaped bytes
    pq.write_table(pa.table({"ts": stamps(2, step_s=1), name: ["x", "y"]}), tmp_path / "p.parquet")
    r = run_split(tmp_path / "p.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", name)
    _fails(r, 1, "group column name", "too long for a directory name", "rename the column")
    assert not (tmp_path / "out").exists()


def test_group_values_equal_across_files_with_different_dictionaries(tmp_path, run_split):
    for i, (dictionary, idx) in enumerate([(["a", "b"], [0, 1, None]), (["b", "a", "a"], [0, 2, None])]):
        arr = pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32()), pa.array(dictionary))
        pq.write_table(pa.table({"ts": stamps(3, step_s=1), "k": arr}), tmp_path / f"s{i}.parquet")
    _ok(run_split(tmp_path / "*.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", "k"))
    m = read_manifest(tmp_path / "out")
    assert sorted((str(s.group["k"]), s.rows) for s in m.shards) == [("None", 2), ("a", 2), ("b", 2)]
    assert len({s.path for s in m.shards}) == 3 and os.path.isdir(tmp_path / "out" / "k=a")


@pytest.mark.parametrize("arr", [
    pa.array([0, 2**62, 5], pa.int64()).view(pa.timestamp("us", "UTC")),
    pa.array([0, 2**31 - 1, 5], pa.int32()).view(pa.date32()),
])
def test_group_column_date_beyond_year_9999_is_refused(tmp_path, run_split, arr):
    pq.write_table(pa.table({"ts": stamps(3, step_s=1), "g": arr}), tmp_path / "g.parquet")
    r = run_split(tmp_path / "g.parquet", "--out", tmp_path / "out", "--time-column", "ts", "--group-by", "g")
    _fails(r, 1, "group column 'g'", "g.parquet", "years 1..9999")
    assert not (tmp_path / "out").exists()


def test_groups_that_would_share_a_directory_are_refused(tmp_path):
    from datagen.contract.errors import OutputError
    from splitters.groupvalues import check_distinct_dirs, folds_names

    groups = [("carrier=AA", {"carrier": "AA"}), ("carrier=aa", {"carrier": "aa"}),
              ("carrier=%C3%A9", {"carrier": "é"})]
    check_distinct_dirs(groups, str(tmp_path), folds=False)
    with pytest.raises(OutputError, match="'AA' and 'aa' of column 'carrier' would share"):
        check_distinct_dirs(groups, str(tmp_path), folds=True)
    with pytest.raises(OutputError, match="cannot tell them apart"):
        check_distinct_dirs(groups + [("carrier=AA", {"carrier": "AA "})], str(tmp_path), folds=False)
    folds = folds_names(str(tmp_path))
    assert folds is False or sys.platform != "linux"  # Linux filesystems keep case
    assert list(tmp_path.iterdir()) == []       # the probe file is gone
