"""Issue 12 item 4: times in years 1..9999 split (sentinels such as 9999-12-31, old dates such
as 0001-01-01 and 1900-01-01, a timestamp[us] in year 2500), from CSV text, Parquet
timestamp[s/ms/us], date32 and epoch numbers. Calendar parts match Python's datetime, shard
rows stay ordered by time, the time column's values are unchanged, and every reader (show,
verify, where, the generator, arrow_dataset) accepts the manifest."""

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from datagen.contract.manifest import read_manifest
from datagen.dataset import arrow_dataset
from cli_checks import fails

UTC = dt.timezone.utc
WIDE = [dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1, 1, 1), dt.datetime(2500, 6, 1, 12),
        dt.datetime(1900, 1, 1), dt.datetime(2500, 6, 1, 3), dt.datetime(2024, 2, 29, 23, 30),
        dt.datetime(1, 1, 1, 0, 0, 0, 1)]
PARTS = "year,month,day,hour,weekday,date"


def _expected(t: dt.datetime) -> dict:
    return {"year": t.year, "month": t.month, "day": t.day, "hour": t.hour, "weekday": t.weekday(),
            "date": t.date().isoformat()}


def _check(out, times: list[dt.datetime], time_type=None):
    """Groups, row counts, time ranges and order against Python's datetime."""
    m = read_manifest(out)
    want: dict[tuple, list] = {}
    for i, t in enumerate(times):
        want.setdefault(tuple(_expected(t).values()), []).append(i)
    got = {tuple(s.group[k] for k in PARTS.split(",")): s for s in m.shards}
    assert sorted(got) == sorted(want)
    for key, shard in got.items():
        rows = want[key]
        assert shard.rows == len(rows)
        ordered = sorted(times[i] for i in rows)
        assert shard.time_min == ordered[0].replace(tzinfo=UTC).isoformat()
        assert shard.time_max == ordered[-1].replace(tzinfo=UTC).isoformat()
        table = pq.read_table(out / shard.path)
        if time_type is not None:
            assert table.schema.field("t").type == time_type
        values = [v.replace(tzinfo=None) if isinstance(v, dt.datetime) else
                  dt.datetime.combine(v, dt.time()) for v in table.column("t").to_pylist()]
        assert values == ordered, "rows ordered by time, values unchanged"
    return m


def test_csv_text_times_in_years_1_to_9999(tmp_path, run_split):
    text = [t.isoformat() + z for t, z in zip(WIDE, ["", "Z", "+00:00", "", "Z", "", "Z"])]
    text[3] = "1900-01-01"   # a date without a time
    pacsv.write_csv(pa.table({"t": text, "v": np.arange(len(text))}), tmp_path / "w.csv")
    r = run_split(tmp_path / "w.csv", "--out", tmp_path / "o", "--time-column", "t", "--group-by", PARTS)
    assert r.exit_code == 0, r.output + r.stderr
    _check(tmp_path / "o", WIDE, pa.timestamp("us", "UTC"))


def test_csv_text_with_offsets_crossing_a_year(tmp_path, run_split):
    """9999-12-31T23:00-05:00 is 10000-01-01 UTC: outside; 0001-01-01T00:30+00:30 is year 1 exactly."""
    text = ["0001-01-01T00:30:00+00:30", "9999-12-31T23:00:00-05:00", "9999-12-31T23:00:00+05:00"]
    pacsv.write_csv(pa.table({"t": text, "v": [1, 2, 3]}), tmp_path / "z.csv")
    args = ("--time-column", "t", "--group-by", "year")
    fails(run_split(tmp_path / "z.csv", "--out", tmp_path / "o", *args), 1, "1 rows", "1 outside",
          "0001-01-01..9999-12-31 UTC")
    r = run_split(tmp_path / "z.csv", "--out", tmp_path / "o", *args, "--on-bad-time", "drop")
    assert r.exit_code == 0, r.stderr
    m = read_manifest(tmp_path / "o")
    assert [(s.group["year"], s.time_min) for s in m.shards] == [(1, "0001-01-01T00:00:00+00:00"),
                                                                  (9999, "9999-12-31T18:00:00+00:00")]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_parquet_timestamps_in_years_1_to_9999(tmp_path, run_split, unit):
    times = WIDE if unit == "us" else [t.replace(microsecond=0) for t in WIDE]
    typ = pa.timestamp(unit)
    pq.write_table(pa.table({"t": pa.array(times, typ), "v": np.arange(len(times))}), tmp_path / "p.parquet",
                   row_group_size=3)
    r = run_split(tmp_path / "p.parquet", "--out", tmp_path / "o", "--time-column", "t", "--group-by", PARTS)
    assert r.exit_code == 0, r.output + r.stderr
    source_type = pq.read_schema(tmp_path / "p.parquet").field("t").type   # Parquet stores [s] as [ms]
    _check(tmp_path / "o", times, source_type)


def test_timestamp_us_in_2500_with_a_plain_group(tmp_path, run_split):
    """The brief's case: a timestamp[us] column in year 2500 splits; rows of a shard stay ordered by time."""
    times = [dt.datetime(2500, 1, 1, tzinfo=UTC) + dt.timedelta(hours=7 * k) for k in range(40)][::-1]
    pq.write_table(pa.table({"t": pa.array(times, pa.timestamp("us", "UTC")), "c": ["a", "b"] * 20,
                             "v": np.arange(40)}), tmp_path / "p.parquet")
    r = run_split(tmp_path / "p.parquet", "--out", tmp_path / "o", "--time-column", "t", "--group-by", "c")
    assert r.exit_code == 0, r.stderr
    for s in read_manifest(tmp_path / "o").shards:
        col = pq.read_table(tmp_path / "o" / s.path).column("t").to_pylist()
        assert col == sorted(col) and col[0].year == 2500 and s.time_min.startswith("2500-01-0")


def test_date32_in_years_1_to_9999(tmp_path, run_split):
    days = [dt.date(9999, 12, 31), dt.date(1, 1, 1), dt.date(2500, 6, 1), dt.date(1900, 1, 1)]
    pq.write_table(pa.table({"t": pa.array(days, pa.date32()), "v": [1, 2, 3, 4]}), tmp_path / "d.parquet")
    r = run_split(tmp_path / "d.parquet", "--out", tmp_path / "o", "--time-column", "t", "--group-by", PARTS)
    assert r.exit_code == 0, r.stderr
    _check(tmp_path / "o", [dt.datetime.combine(d, dt.time()) for d in days], pa.date32())


@pytest.mark.parametrize("unit,scale", [("s", 1), ("ms", 10**3), ("us", 10**6)])
def test_epoch_numbers_in_years_1_to_9999(tmp_path, run_split, unit, scale):
    epoch = dt.datetime(1970, 1, 1)
    times = [t.replace(microsecond=0) for t in WIDE]
    secs = [(t - epoch) // dt.timedelta(seconds=1) for t in times]
    pq.write_table(pa.table({"t": pa.array([s * scale for s in secs], pa.int64()), "v": np.arange(len(secs))}),
                   tmp_path / "e.parquet")
    args = ("--time-column", "t", "--time-unit", unit, "--group-by", PARTS)
    r = run_split(tmp_path / "e.parquet", "--out", tmp_path / "o", *args)
    assert r.exit_code == 0, r.stderr
    _check(tmp_path / "o", times, pa.timestamp("us", "UTC"))
    # an epoch beyond year 9999 stays a bad time with the one-line handling
    pq.write_table(pa.table({"t": pa.array([secs[0] * scale, (secs[0] + 86_400) * scale], pa.int64()), "v": [1, 2]}),
                   tmp_path / "x.parquet")
    fails(run_split(tmp_path / "x.parquet", "--out", tmp_path / "x", *args), 1, "1 rows", "1 outside",
          "0001-01-01..9999-12-31 UTC", "x.parquet:row 1")


def test_timestamp_ns_source_is_kept(tmp_path, run_split):
    ns = [1_700_000_000_123_456_789, 1_700_000_000_123_456_788, -2**63 + 10**15]
    pq.write_table(pa.table({"t": pa.array(ns, pa.int64()).view(pa.timestamp("ns", "UTC")), "v": [1, 2, 3]}),
                   tmp_path / "n.parquet")
    r = run_split(tmp_path / "n.parquet", "--out", tmp_path / "o", "--time-column", "t", "--group-by", "year")
    assert r.exit_code == 0, r.stderr
    m = read_manifest(tmp_path / "o")
    assert [s.group["year"] for s in m.shards] == [1677, 2023]
    t = pq.read_table(tmp_path / "o" / m.shards[1].path).column("t")
    assert t.type == pa.timestamp("ns", "UTC") and t.cast(pa.int64()).to_pylist() == sorted(ns[:2])
    assert m.shards[1].time_max == "2023-11-14T22:13:20.123456789+00:00"


def test_far_time_zone_at_the_ends_of_the_range(tmp_path, run_split):
    """The wall-clock time in --timezone must lie in years 1..9999 too (only the first and last day can fail)."""
    text = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-02T00:00:00Z", "2024-06-01T00:00:00Z"]
    pacsv.write_csv(pa.table({"t": text, "v": [1, 2, 3, 4]}), tmp_path / "e.csv")
    args = ("--time-column", "t", "--group-by", "year,date", "--timezone", "America/New_York")
    fails(run_split(tmp_path / "e.csv", "--out", tmp_path / "o", *args), 1, "1 rows", "--timezone America/New_York",
          "'0001-01-01T00:00:00Z'")
    r = run_split(tmp_path / "e.csv", "--out", tmp_path / "o", *args, "--on-bad-time", "drop")
    assert r.exit_code == 0, r.stderr
    m = read_manifest(tmp_path / "o")
    assert [s.group["date"] for s in m.shards] == ["0001-01-01", "2024-05-31", "9999-12-31"]
    # a group by a plain column needs no wall-clock time: every row is kept
    pacsv.write_csv(pa.table({"t": text, "c": ["x"] * 4}), tmp_path / "p.csv")
    r = run_split(tmp_path / "p.csv", "--out", tmp_path / "p", "--time-column", "t", "--group-by", "c",
                  "--timezone", "America/New_York")
    assert r.exit_code == 0 and read_manifest(tmp_path / "p").totals.rows_written == 4


def test_readers_accept_wide_years(tmp_path, run_split, run_datagen):
    from datagen import DataGenerator

    pq.write_table(pa.table({"t": pa.array(WIDE, pa.timestamp("us")), "x": np.arange(len(WIDE), dtype=np.float32),
                             "y": [0, 1] * 3 + [0]}), tmp_path / "p.parquet")
    out = tmp_path / "o"
    r = run_split(tmp_path / "p.parquet", "--out", out, "--time-column", "t", "--group-by", "year,date", "--label", "y")
    assert r.exit_code == 0, r.stderr
    shown = json.loads(run_datagen("show", out, "--json").output)
    assert shown["time_range"] == ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"]
    assert run_datagen("verify", out).exit_code == 0
    old = DataGenerator(out, ["x"], label="y", batch_size=8, where="year < 1000")
    assert sorted(old[0][0][:, 0].tolist()) == [1.0, 6.0]
    late = DataGenerator(out, ["x"], label="y", batch_size=8, where="date >= '2500-06-01'")
    assert sorted(late[0][0][:, 0].tolist()) == [0.0, 2.0, 4.0]
    prov = late.provenance(0)
    assert sorted(prov["date"]) == ["2500-06-01", "2500-06-01", "9999-12-31"]
    table = arrow_dataset(out).to_table().sort_by("x")
    assert [v for v in table.column("t").to_pylist()] == WIDE
    assert table.column("year").to_pylist() == [t.year for t in WIDE]


def test_files_with_different_timestamp_units(tmp_path, run_split):
    """The finest unit decides the split's resolution: ms + us files keep years 1..9999 (the ms file's
    times are stored as us, exactly); with an ns file a year-2500 time is a bad time naming 1677..2262."""
    pq.write_table(pa.table({"t": pa.array([dt.datetime(2500, 1, 1), dt.datetime(2024, 1, 1)], pa.timestamp("ms")),
                             "v": [1, 2]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"t": pa.array([dt.datetime(2024, 1, 1, 1)], pa.timestamp("us")), "v": [3]}),
                   tmp_path / "b.parquet")
    r = run_split(tmp_path / "*.parquet", "--out", tmp_path / "o", "--time-column", "t", "--group-by", "year")
    assert r.exit_code == 0, r.stderr
    m = read_manifest(tmp_path / "o")
    assert [(s.group["year"], s.rows) for s in m.shards] == [(2024, 2), (2500, 1)]
    t = pq.read_table(tmp_path / "o" / m.shards[1].path).column("t")
    assert t.type == pa.timestamp("us") and t.to_pylist() == [dt.datetime(2500, 1, 1)]
    pq.write_table(pa.table({"t": pa.array([dt.datetime(2024, 1, 1, 2)], pa.timestamp("ns")), "v": [4]}),
                   tmp_path / "c.parquet")
    fails(run_split(tmp_path / "*.parquet", "--out", tmp_path / "n", "--time-column", "t", "--group-by", "year"), 1,
          "1 rows", "1677-09-22..2262-04-10 UTC", "a.parquet:row 0")
    r = run_split(tmp_path / "*.parquet", "--out", tmp_path / "n", "--time-column", "t", "--group-by", "year",
                  "--on-bad-time", "drop")
    assert r.exit_code == 0, r.stderr
    m = read_manifest(tmp_path / "n")
    assert [(s.group["year"], s.rows) for s in m.shards] == [(2024, 3)]
    assert pq.read_table(tmp_path / "n" / m.shards[0].path).column("t").type == pa.timestamp("ns")
