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
    fails(run_split(finer, "--out", out, "--append"), 1, "'b'", "d2.parquet", "1700000000000123")
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


# ---- property: append of day 2 == a split of day 1 + day 2 together, per group ----

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ZONES = ["A1", "b", "0012", "true"]


@st.composite
def two_days(draw):
    fmt = draw(st.sampled_from(["csv", "parquet"]))
    out = []
    for k in (0, 1):
        n = draw(st.integers(1, 5))
        day = draw(st.sampled_from([1, 2])) if k else 1
        frac = draw(st.booleans())                       # the non-time datetime has milliseconds this day
        fare = draw(st.lists(st.one_of(st.none(), st.integers(0, 99).map(float), st.sampled_from([0.5, 7.25])),
                             min_size=n, max_size=n))
        if k == 0:
            fare[0] = 2.5                                # the dataset's fare is double
        ints = draw(st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=n, max_size=n))
        if k == 0 and ints[0] is None:
            ints[0] = 1                                  # the dataset's n is int64
        note = draw(st.one_of(st.just([None] * n), st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n)))
        rows = []
        for i in range(n):
            t = dt.datetime(2023, 1, day, i, 10, 5)
            rows.append({"pickup": t, "drop": t + dt.timedelta(minutes=7, milliseconds=250 if frac else 0),
                         "fare": fare[i], "n": ints[i], "zone": "A1" if k == i == 0 else draw(st.sampled_from(ZONES)),
                         "note": note[i]})   # day 1 holds text in zone (digits alone would make it int64)
        out.append((rows, frac, draw(st.booleans())))   # (rows, ms times, categorical zone)
    return fmt, out, draw(st.sampled_from(["date", "date,zone"]))


def _write(path, fmt, rows, frac, categorical):
    if fmt == "csv":
        text = lambda v: "" if v is None else (v.isoformat(" ", "milliseconds" if frac else "seconds")  # noqa: E731
                                                if isinstance(v, dt.datetime) else f"{v:g}" if isinstance(v, float)
                                                else str(v))   # a whole float is written "8", as pandas writes none
        lines = [",".join(rows[0])] + [",".join(text(r[c]) for c in rows[0]) for r in rows]
        path.write_text("\n".join(lines) + "\n")
        return path
    zone = pa.array([r["zone"] for r in rows])
    notes = [r["note"] for r in rows]
    return _pq(path, pickup=pa.array([r["pickup"] for r in rows], pa.timestamp("us")),
               drop=pa.array([r["drop"] for r in rows], pa.timestamp("ms" if frac else "s")),
               fare=pa.array([r["fare"] for r in rows], pa.float64()), n=pa.array([r["n"] for r in rows], pa.int64()),
               zone=zone.dictionary_encode() if categorical else zone,
               note=pa.nulls(len(rows)) if all(v is None for v in notes) else pa.array(notes, pa.string()))


def _by_group(out):
    m = read_manifest(out)
    groups: dict = {}
    for s in m.shards:
        t = pq.read_table(out / s.path).drop_columns(["_source_id", "_source_row"])
        groups.setdefault(s.path.rpartition("/")[0], []).extend(tuple(r.values()) for r in t.to_pylist())
    return {k: sorted(v, key=repr) for k, v in groups.items()}, {c.name: c.type for c in m.schema}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(two_days())
def test_appending_day_two_equals_splitting_both_days_together(tmp_path_factory, case):
    """Property (pandas-free reference: a split of both files together): for generated daily CSV or
    Parquet files with whole/fractional floats, blanks, whole-second and millisecond datetimes,
    categoricals and all-empty columns, a split of day 1 then ``--append`` of day 2 holds the same
    rows, with the same values, in every group, and the dataset's column types are day 1's."""
    from click.testing import CliRunner

    from splitters.cli import main

    fmt, days, group_by = case
    d = tmp_path_factory.mktemp("days")
    paths = [_write(d / f"d{k}.{fmt}", fmt, *day) for k, day in enumerate(days)]
    args = ["--time-column", "pickup", "--group-by", group_by, "--no-progress"]
    run = CliRunner().invoke
    assert run(main, [str(paths[0]), *args, "--out", str(d / "ds")]).exit_code == 0
    first_types = _by_group(d / "ds")[1]
    r = run(main, [str(paths[1]), "--out", str(d / "ds"), "--append", "--no-progress"])
    assert r.exit_code == 0, r.output
    r = run(main, [str(paths[0]), str(paths[1]), *args, "--out", str(d / "both")])
    assert r.exit_code == 0, r.output
    appended, types = _by_group(d / "ds")
    together, _ = _by_group(d / "both")
    assert types == first_types
    assert appended == together
    # and against pandas' own reading of the two files: the numbers of every row
    ref = pd.concat([pd.read_csv(p) if fmt == "csv" else pd.read_parquet(p) for p in paths])
    names = list(types)
    got = sorted(((r[names.index("fare")], r[names.index("n")]) for rows in appended.values() for r in rows), key=repr)
    want = sorted(((None if pd.isna(f) else float(f), None if pd.isna(n) else int(n))
                   for f, n in zip(ref["fare"], ref["n"])), key=repr)
    assert got == want


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
