"""--append reads a new day with the dataset's column types (append_reads.py): ordinary next days
that a split of both days together accepts are appended (whole-second CSV times, whole numbers in
a float column, blank/NA columns, categoricals, null Parquet columns, other zones); a value that does
not fit is refused in one line naming file, column and value; the dataset's types never change."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_checks import fails
from datagen.contract.manifest import read_manifest
from datagen.contract.verify import verify_dataset
from splitters.append_reads import conform_source, dataset_types, value_type_name
from splitters.append_rules import append_casts, append_config
from splitters.sources import discover

ARGS = ["--time-column", "pickup", "--group-by", "date", "--no-progress"]


def state(out):
    return {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


def values(out):
    """Every row of the current version (lineage dropped), sorted, as plain Python values."""
    m = read_manifest(out)
    t = pa.concat_tables([pq.read_table(out / s.path).drop_columns(["_source_id", "_source_row"]) for s in m.shards],
                         promote_options="permissive")
    rows = [tuple(r.values()) for r in t.to_pylist()]
    return sorted(rows, key=repr)


CSV_DAYS = {   # name -> (day 1 text, day 2 text)
    "whole-second datetime": ("pickup,dropoff,fare\n2023-01-01 00:32:10,2023-01-01 00:40:00.5,7.5\n",
                              "pickup,dropoff,fare\n2023-01-02 08:00:00,2023-01-02 08:20:00,9.5\n"),
    "whole numbers in a float column": ("pickup,fare,tip\n2023-01-01 00:32:10,7.5,1.5\n",
                                        "pickup,fare,tip\n2023-01-02 00:32:10,8,2\n"),
    "blank and NA columns": ("pickup,fare,tip,note\n2023-01-01 00:32:10,7.5,1.5,a\n",
                             "pickup,fare,tip,note\n2023-01-02 00:32:10,,NA,\n2023-01-02 01:00:00,N/A,,b\n"),
    "digits in a text column": ("pickup,zone,fare\n2023-01-01 00:32:10,A12,7.5\n",
                                "pickup,zone,fare\n2023-01-02 00:32:10,0012,8.5\n"),
}


@pytest.mark.parametrize("case", sorted(CSV_DAYS))
def test_a_csv_day_appends_exactly_as_a_split_of_both_days_reads_it(tmp_path, run_split, case):
    one, two = tmp_path / "d1.csv", tmp_path / "d2.csv"
    one.write_text(CSV_DAYS[case][0])
    two.write_text(CSV_DAYS[case][1])
    assert run_split(one, *ARGS, "--out", tmp_path / "ds").exit_code == 0
    before = read_manifest(tmp_path / "ds").schema
    r = run_split(two, "--out", tmp_path / "ds", "--append", "--no-progress")
    assert r.exit_code == 0, r.output
    assert read_manifest(tmp_path / "ds").schema == before            # the dataset's types never change
    assert verify_dataset(tmp_path / "ds").ok
    assert run_split(one, two, *ARGS, "--out", tmp_path / "both").exit_code == 0
    assert values(tmp_path / "ds") == values(tmp_path / "both")


@pytest.mark.parametrize("day2, named", [
    ("pickup,fare,tip\n2023-01-02 00:32:10,abc,1\n", ("'fare'", "'abc'", "d2.csv")),
    ("pickup,fare,tip\n2023-01-02 00:32:10,1,2\n2023-01-02 00:40:10,2,x1\n", ("'tip'", "'x1'", "d2.csv")),
])
def test_a_csv_value_that_does_not_fit_is_refused_naming_file_column_and_value(tmp_path, run_split, day2, named):
    (tmp_path / "d1.csv").write_text("pickup,fare,tip\n2023-01-01 00:32:10,7.5,1.5\n")
    (tmp_path / "d2.csv").write_text(day2)
    out = tmp_path / "ds"
    assert run_split(tmp_path / "d1.csv", *ARGS, "--out", out).exit_code == 0
    before = state(out)
    fails(run_split(tmp_path / "d2.csv", "--out", out, "--append", "--no-progress"), 1, *named)
    assert state(out) == before


def test_a_sub_unit_csv_time_and_an_integer_with_a_fraction_are_refused(tmp_path, run_split):
    (tmp_path / "d1.csv").write_text("pickup,dropoff,n\n2023-01-01 00:32:10,2023-01-01 00:40:00,3\n")
    (tmp_path / "d2.csv").write_text("pickup,dropoff,n\n2023-01-02 00:32:10,2023-01-02 00:40:00.123456,4\n")
    (tmp_path / "d3.csv").write_text("pickup,dropoff,n\n2023-01-03 00:32:10,2023-01-03 00:40:00,4.5\n")
    (tmp_path / "d4.csv").write_text("pickup,dropoff,n\n2023-01-04 00:32:10,2023-01-04 00:40:00,5.0\n")
    out = tmp_path / "ds"
    assert run_split(tmp_path / "d1.csv", *ARGS, "--out", out).exit_code == 0
    fails(run_split(tmp_path / "d2.csv", "--out", out, "--append"), 1, "'dropoff'", "00:40:00.123456", "d2.csv")
    fails(run_split(tmp_path / "d3.csv", "--out", out, "--append"), 1, "'n'", "4.5", "never becomes float")
    assert run_split(tmp_path / "d4.csv", "--out", out, "--append").exit_code == 0   # 5.0 is the integer 5
    assert read_manifest(out).schema[2].type == "int64" and [5, 3] == sorted(v[2] for v in values(out))[::-1]


def test_a_header_only_day_is_said_to_hold_no_rows(tmp_path, run_split):
    (tmp_path / "d1.csv").write_text("pickup,fare,tip\n2023-01-01 00:32:10,7.5,1.5\n")
    (tmp_path / "d2.csv").write_text("pickup,fare,tip\n")
    out = tmp_path / "ds"
    assert run_split(tmp_path / "d1.csv", *ARGS, "--out", out).exit_code == 0
    fails(run_split(tmp_path / "d2.csv", "--out", out, "--append"), 1, "holds no rows", "d2.csv")


def _pq(path, **cols):
    pq.write_table(pa.table(cols), path)
    return path


def _times(day, n=3, unit="s"):
    return pa.array([dt.datetime(2024, 1, day, h) for h in range(n)], pa.timestamp(unit))


@pytest.mark.parametrize("case", ["null column", "seconds into ms", "int into double", "int32 into int64",
                                  "categorical", "polars categorical"])
def test_a_parquet_day_is_cast_to_the_dataset_types_when_no_value_changes(tmp_path, run_split, case):
    n = 3
    day1 = {"pickup": _times(1), "a": pa.array([1.5, 2.5, None]), "b": _times(1, unit="ms"),
            "c": pa.array([1, 2, 3], pa.int64()), "z": pa.array(["x", "y", "x"])}
    day2 = {"pickup": _times(2), "a": pa.array([3.5, 4.5, 5.5]), "b": _times(2, unit="ms"),
            "c": pa.array([4, 5, 6], pa.int64()), "z": pa.array(["y", "w", "x"])}
    if case == "null column":
        day2["a"] = pa.nulls(n)
    elif case == "seconds into ms":
        day2["b"] = _times(2, unit="s")
    elif case == "int into double":
        day2["a"] = pa.array([3, 4, 5])
    elif case == "int32 into int64":
        day2["c"] = pa.array([4, 5, 6], pa.int32())
    else:
        day2["z"] = day2["z"].dictionary_encode()
        if case == "polars categorical":
            day2["z"] = day2["z"].cast(pa.dictionary(pa.uint32(), pa.string()))
    one, two = _pq(tmp_path / "d1.parquet", **day1), _pq(tmp_path / "d2.parquet", **day2)
    out = tmp_path / "ds"
    assert run_split(one, *ARGS, "--out", out).exit_code == 0
    before = read_manifest(out).schema
    r = run_split(two, "--out", out, "--append", "--no-progress")
    assert r.exit_code == 0, r.output
    assert read_manifest(out).schema == before
    assert run_split(one, two, *ARGS, "--out", tmp_path / "both").exit_code == 0
    assert values(out) == values(tmp_path / "both")


def test_a_lossy_parquet_cast_is_refused_naming_file_column_and_value(tmp_path, run_split):
    out = tmp_path / "ds"
    one = _pq(tmp_path / "d1.parquet", pickup=_times(1), b=_times(1, unit="ms"), c=pa.array([1, 2, 3], pa.int16()))
    assert run_split(one, *ARGS, "--out", out).exit_code == 0
    before = state(out)
    finer = _pq(tmp_path / "d2.parquet", pickup=_times(2), b=pa.array([1_700_000_000_000_123] * 3, pa.timestamp("us")),
                c=pa.array([1, 2, 3], pa.int16()))
    fails(run_split(finer, "--out", out, "--append"), 1, "'b'", "d2.parquet", "2023-11-14 22:13:20.000123")   # named as a time, not in ticks
    wide = _pq(tmp_path / "d3.parquet", pickup=_times(3), b=_times(3, unit="ms"), c=pa.array([1, 2, 70_000]))
    fails(run_split(wide, "--out", out, "--append"), 1, "'c'", "d3.parquet", "70000")
    text = _pq(tmp_path / "d4.parquet", pickup=_times(4), b=pa.array(["x"] * 3), c=pa.array([1, 2, 3], pa.int16()))
    fails(run_split(text, "--out", out, "--append"), 1, "'b'", "d4.parquet", "string", "timestamp[ms]")
    assert state(out) == before


def test_a_categorical_group_column_is_stored_as_text_whatever_its_writer(tmp_path, run_split):
    """A first split stores a string categorical as string (the manifest's group type too), so days
    from pandas (int8 codes), with >127 categories (int16) or from Polars (uint32) append alike."""
    def day(path, d, codes, k):
        zones = pa.array([f"z{i % k:03d}" for i in range(k)]).dictionary_encode().cast(pa.dictionary(codes, pa.string()))
        return _pq(path, pickup=pa.array([dt.datetime(2024, 1, d) + dt.timedelta(minutes=i) for i in range(k)],
                                         pa.timestamp("ms")), zone=zones, x=pa.array(np.arange(k)))
    out = tmp_path / "ds"
    one = day(tmp_path / "d1.parquet", 1, pa.int8(), 5)
    assert run_split(one, "--time-column", "pickup", "--group-by", "date,zone", "--out", out).exit_code == 0
    m = read_manifest(out)
    assert [g.type for g in m.group_columns] == ["string", "string"]
    for i, codes in enumerate([pa.int16(), pa.uint32()]):
        r = run_split(day(tmp_path / f"d{i + 2}.parquet", i + 2, codes, 200), "--out", out, "--append")
        assert r.exit_code == 0, r.output
    assert [g.type for g in read_manifest(out).group_columns] == ["string", "string"]
    assert verify_dataset(out).ok
    assert read_manifest(out).totals.rows_written == 405


def test_a_dataset_whose_manifest_holds_a_dictionary_group_type_still_takes_text_days(tmp_path, run_split):
    """Datasets split before categoricals were normalised list ``dictionary<...>`` as a plain group
    column's type: their days are compared by the values' type."""
    out = tmp_path / "ds"
    one = _pq(tmp_path / "d1.parquet", pickup=_times(1), zone=pa.array(["a", "b", "a"]), x=pa.array([1, 2, 3]))
    assert run_split(one, "--time-column", "pickup", "--group-by", "date,zone", "--out", out).exit_code == 0
    m = read_manifest(out)
    old_type = "dictionary<values=string, indices=int8, ordered=0>"
    assert value_type_name(old_type) == "string" and value_type_name("int64") == "int64"
    old = dataclasses.replace(m, group_columns=[dataclasses.replace(g, type=old_type) if g.name == "zone" else g
                                                for g in m.group_columns])
    assert dataset_types(old)["zone"] == "string"
    cfg = append_config(old, {"inputs": [str(one)], "out": str(out)}, str(out))
    src = discover([str(one)])[0]
    for zone_type in (pa.string(), pa.dictionary(pa.int16(), pa.string())):
        schema = pa.schema([("pickup", pa.timestamp("s")), ("zone", zone_type), ("x", pa.int64())])
        read = conform_source(src, schema, dataset_types(old), "pickup", str(out))
        assert read.field("zone").type == pa.string()
        assert append_casts(old, cfg, read, str(out)).casts == []


def test_a_categorical_input_is_split_as_its_values_whatever_its_writer(tmp_path, run_split):
    """pandas (int8 codes), Polars (uint32 codes) and plain text give the same manifest types and the
    same shard bytes; a categorical text group column is text to DataGenerator."""
    n = 200
    rng = np.random.default_rng(3)
    base = {"ts": pa.array(pd.date_range("2024-01-01", periods=n, freq="min")),
            "x": pa.array(rng.normal(size=n)), "y": pa.array(rng.integers(0, 2, n))}
    vendor = pa.array(rng.choice(["CMT", "VTS"], n).tolist())
    zone = pa.array(rng.choice(["a", "b", "c"], n).tolist())
    writers = {"text": (vendor, zone),
               "pandas": (vendor.dictionary_encode().cast(pa.dictionary(pa.int8(), pa.string())),
                          zone.dictionary_encode().cast(pa.dictionary(pa.int8(), pa.string()))),
               "polars": (vendor.dictionary_encode().cast(pa.dictionary(pa.uint32(), pa.string())),
                          zone.dictionary_encode().cast(pa.dictionary(pa.uint32(), pa.string())))}
    seen = {}
    for name, (v, z) in writers.items():
        src = _pq(tmp_path / f"{name}.parquet", **base, vendor=v, zone=z)
        out = tmp_path / f"ds_{name}"
        r = run_split(src, "--time-column", "ts", "--group-by", "date,vendor", "--label", "y", "--out", out)
        assert r.exit_code == 0, r.output
        m = read_manifest(out)
        seen[name] = ([(c.name, c.type) for c in m.schema], [(g.name, g.type) for g in m.group_columns],
                      sorted((s.path.rpartition("/")[0], s.sha256) for s in m.shards))
    assert seen["pandas"] == seen["text"] == seen["polars"]
    assert ("vendor", "string") in seen["polars"][1] and ("zone", "string") in seen["polars"][0]
    from datagen import DataGenerator

    gen = DataGenerator(tmp_path / "ds_polars", {"vendor": ["vendor"], "num": ["x"]}, label="y", batch_size=50)
    assert len(gen) == 4


def test_an_older_dataset_with_a_dictionary_group_type_appends_and_reads(tmp_path, run_split):
    """A manifest written before categoricals were stored as their values (group type
    ``dictionary<...>``, made here by editing the type back): string and categorical days append,
    the type is kept, and DataGenerator reads the column as text."""
    import manifest_edit

    out = tmp_path / "ds"
    one = _pq(tmp_path / "d1.parquet", pickup=_times(1), zone=pa.array(["a", "b", "a"]), x=pa.array([1, 2, 3]),
              y=pa.array([0, 1, 0]))
    assert run_split(one, "--time-column", "pickup", "--group-by", "date,zone", "--out", out).exit_code == 0
    old_type = "dictionary<values=string, indices=uint32, ordered=0>"
    manifest_edit.edit(out / "manifest.json", lambda d: [g.update(type=old_type) for g in d["group_columns"]
                                                        if g["name"] == "zone"])
    for day, zone in ((2, pa.array(["b", "c", "c"])), (3, pa.array(["a"] * 3).dictionary_encode())):
        src = _pq(tmp_path / f"d{day}.parquet", pickup=_times(day), zone=zone, x=pa.array([4, 5, 6]),
                  y=pa.array([1, 1, 0]))
        r = run_split(src, "--out", out, "--append")
        assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert [g.type for g in m.group_columns if g.name == "zone"] == [old_type] and m.group_types["zone"] == "string"
    assert m.totals.rows_written == 9
    from datagen import DataGenerator

    gen = DataGenerator(out, {"zone": ["zone"], "num": ["x"]}, label="y", batch_size=9, shuffle=False)
    x, _ = gen[0]
    assert sorted(v for v in np.asarray(x["zone"]).ravel().tolist()) == sorted("aba" "bcc" "aaa")


def test_other_zones_are_accepted_alike_by_an_append_and_by_a_split_of_both_days(tmp_path, run_split):
    """A UTC day into a New York dataset: the append keeps the dataset's type, a split of both days
    stores UTC (the zones differ); both hold the same instants. Naive + zoned is refused by both."""
    def day(path, d, tz):
        t = pa.array([dt.datetime(2024, 1, d, h) for h in range(3)], pa.timestamp("ms")).cast(pa.timestamp("ms", "UTC"))
        return _pq(path, pickup=t.cast(pa.timestamp("ms", tz)), e=t.cast(pa.timestamp("us", tz)), x=pa.array([1, 2, 3]))
    ny, utc = day(tmp_path / "ny.parquet", 1, "America/New_York"), day(tmp_path / "utc.parquet", 2, "UTC")
    assert run_split(ny, *ARGS, "--out", tmp_path / "ds").exit_code == 0
    r = run_split(utc, "--out", tmp_path / "ds", "--append")
    assert r.exit_code == 0, r.output
    assert run_split(ny, utc, *ARGS, "--out", tmp_path / "both").exit_code == 0
    types = {c.name: c.type for c in read_manifest(tmp_path / "ds").schema}
    assert types["e"] == "timestamp[us, tz=America/New_York]"
    assert {c.name: c.type for c in read_manifest(tmp_path / "both").schema}["e"] == "timestamp[us, tz=UTC]"
    instants = lambda out: sorted((r[0].timestamp(), r[1].timestamp(), r[2]) for r in values(out))  # noqa: E731
    assert instants(tmp_path / "ds") == instants(tmp_path / "both")
    naive = _pq(tmp_path / "naive.parquet", pickup=_times(3, unit="ms").cast(pa.timestamp("ms", "UTC")),
                e=_times(3, unit="us"), x=pa.array([1, 2, 3]))
    fails(run_split(naive, "--out", tmp_path / "ds", "--append"), 1, "'e'", "naive.parquet")
    fails(run_split(ny, naive, *ARGS, "--out", tmp_path / "both2"), 1, "'e'", "schema mismatch")
