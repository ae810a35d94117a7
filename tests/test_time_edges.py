"""Regression tests for times that cannot be represented (issues #10, #12 item 4): epoch
values that overflow int64 nanoseconds (--time-unit ns) or leave years 1..9999, ISO text,
Parquet timestamps and dates outside the split's range (1677-09-22..2262-04-10 at
nanoseconds, 0001-01-01..9999-12-31 otherwise), text finer than a microsecond, and CSV
epoch numbers given without --time-unit. Each is a bad time (one-line error, or dropped
and counted with --on-bad-time drop), never NaT, a wrapped value or a traceback."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from datagen.contract.manifest import read_manifest
from cli_checks import fails as _fails

RANGE = "outside the supported range 1677-09-22..2262-04-10 UTC"
US_RANGE = "outside the supported range 0001-01-01..9999-12-31 UTC"



def _dropped(run_split, src, out, *args, kept, dropped):
    r = run_split(src, "--out", out, *args, "--on-bad-time", "drop")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert m.totals.rows_written == kept and m.totals.rows_dropped == dropped
    for s in m.shards:
        assert "NaT" not in (s.time_min, s.time_max)
        assert all(isinstance(v, int) and 1 <= v <= 9999 for k, v in s.group.items() if k == "year")
    return m


@pytest.mark.parametrize("values,typ", [
    ([9.2233720368547758e18, 1.7e18, float("nan")], pa.float64()),
    ([-2**63, 1_700_000_000 * 10**9, 2**63 - 1], pa.int64()),
])
def test_epoch_ns_that_int64_cannot_hold(tmp_path, run_split, values, typ):
    pq.write_table(pa.table({"t": pa.array(values, typ), "v": [1, 2, 3]}), tmp_path / "e.parquet")
    args = ("--time-column", "t", "--time-unit", "ns", "--group-by", "year")
    err = _fails(run_split(tmp_path / "e.parquet", "--out", tmp_path / "o1", *args), 1, "2 rows", "column 't'", RANGE,
                 "e.parquet:row 0")
    assert "NaT" not in err
    assert not (tmp_path / "o1").exists()
    m = _dropped(run_split, tmp_path / "e.parquet", tmp_path / "o2", *args, kept=1, dropped=2)
    assert [s.group for s in m.shards] == [{"year": 2023}]


def test_epoch_seconds_far_outside_the_range(tmp_path, run_split):
    pq.write_table(pa.table({"t": pa.array([10**12, -10**12, 1_700_000_000], pa.int64()), "v": [1, 2, 3]}),
                   tmp_path / "s.parquet")
    _fails(run_split(tmp_path / "s.parquet", "--out", tmp_path / "o", "--time-column", "t", "--time-unit", "s"),
           1, "2 rows", US_RANGE)


@pytest.mark.parametrize("drop", [False, True])
def test_iso_text_outside_the_range_at_nanoseconds(tmp_path, run_split, drop):
    """--time-unit ns keeps text to the nanosecond, in 1677..2262."""
    times = ["1600-01-01", "2024-01-01T00:00:00.123456789Z", "2300-01-01", "2262-04-11T00:00:00Z", "yesterday"]
    pacsv.write_csv(pa.table({"t": times, "v": np.arange(5)}), tmp_path / "iso.csv")
    args = ("--time-column", "t", "--group-by", "year", "--time-unit", "ns")
    if not drop:
        _fails(run_split(tmp_path / "iso.csv", "--out", tmp_path / "o", *args), 1,
               "4 rows have a time in column 't' that cannot be parsed or represented (3 outside the supported range",
               "'1600-01-01'", "'2300-01-01'")
        assert not (tmp_path / "o").exists()
    else:
        m = _dropped(run_split, tmp_path / "iso.csv", tmp_path / "o", *args, kept=1, dropped=4)
        assert m.shards[0].time_min == "2024-01-01T00:00:00.123456789+00:00"
        assert pq.read_schema(tmp_path / "o" / m.shards[0].path).field("t").type == pa.timestamp("ns", "UTC")


@pytest.mark.parametrize("drop", [False, True])
def test_iso_text_finer_than_a_microsecond(tmp_path, run_split, drop):
    """Text times are kept to the microsecond (years 1..9999): nanosecond digits are refused, never rounded."""
    times = ["1600-01-01", "2024-01-01T00:00:00.123456789Z", "2300-01-01", "2024-01-01T00:00:00.123456000Z",
             "yesterday"]
    pacsv.write_csv(pa.table({"t": times, "v": np.arange(5)}), tmp_path / "iso.csv")
    args = ("--time-column", "t", "--group-by", "year")
    if not drop:
        _fails(run_split(tmp_path / "iso.csv", "--out", tmp_path / "o", *args), 1,
               "2 rows have a time in column 't' that cannot be parsed or represented",
               "1 with digits finer than a microsecond: pass --time-unit ns", "'2024-01-01T00:00:00.123456789Z'")
        assert not (tmp_path / "o").exists()
    else:
        m = _dropped(run_split, tmp_path / "iso.csv", tmp_path / "o", *args, kept=3, dropped=2)
        assert [s.group["year"] for s in m.shards] == [1600, 2024, 2300]
        assert m.shards[1].time_min == "2024-01-01T00:00:00.123456+00:00"


@pytest.mark.parametrize("typ,old,new", [
    (pa.timestamp("s"), 2**50, 1_714_521_600),                                  # far beyond year 9999
    (pa.timestamp("ms", "UTC"), -2**50, 1_714_521_600 * 10**3),                 # before year 1
    (pa.timestamp("ns", "UTC"), -2**63 + 1, 1_714_521_600 * 10**9),            # 1677-09-21: ns keeps 1677..2262
    (pa.date32(), -800_000, dt.date(2024, 5, 1)),                               # about 220 BC
    (pa.timestamp("us", "UTC"), 2**62, 1_714_521_600 * 10**6),   # year 17036: no Python datetime
])
def test_parquet_timestamps_and_dates_outside_the_range(tmp_path, run_split, typ, old, new):
    if pa.types.is_date32(typ):
        column = pa.array([old, (new - dt.date(1970, 1, 1)).days, None], pa.int32()).cast(typ)
    else:
        column = pa.array([old, new, None], pa.int64()).view(typ)
    pq.write_table(pa.table({"t": column, "v": [1, 2, 3]}), tmp_path / "p.parquet")
    args = ("--time-column", "t", "--group-by", "year,month", "--on-missing-time", "drop")  # the null is missing, not bad
    err = _fails(run_split(tmp_path / "p.parquet", "--out", tmp_path / "o1", *args), 1, "1 rows", "(1 outside",
                 RANGE if typ == pa.timestamp("ns", "UTC") else US_RANGE)
    assert "cannot read" not in err
    m = _dropped(run_split, tmp_path / "p.parquet", tmp_path / "o2", *args, kept=1, dropped=2)
    assert [s.group for s in m.shards] == [{"year": 2024, "month": 5}]
    source_type = pq.read_schema(tmp_path / "p.parquet").field("t").type
    assert pq.read_table(tmp_path / "o2" / m.shards[0].path).schema.field("t").type == source_type


def test_range_edges_in_a_far_time_zone(tmp_path, run_split):
    """The last supported nanosecond instant still has a wall-clock day in UTC+14 and UTC-12."""
    edge = ["2262-04-10T23:59:59Z", "1677-09-22T00:00:00Z"]
    pacsv.write_csv(pa.table({"t": edge, "v": [1, 2]}), tmp_path / "e.csv")
    pq.write_table(pa.table({"t": pa.array(edge).cast(pa.timestamp("ns", "UTC")), "v": [1, 2]}), tmp_path / "e.parquet")
    for tz in ("Pacific/Kiritimati", "Etc/GMT+12"):
        for src in ("e.csv", "e.parquet"):
            out = tmp_path / (src + tz.replace("/", "_"))
            r = run_split(tmp_path / src, "--out", out, "--time-column", "t", "--group-by", "year,date", "--timezone", tz)
            assert r.exit_code == 0, r.output
            assert read_manifest(out).totals.rows_written == 2


@pytest.mark.parametrize("values,kind", [([1700000000, 1700000100], "int64"), ([1.7e9, 1.7e9 + 0.5], "double")])
@pytest.mark.parametrize("policy", ["error", "drop"])
def test_csv_epoch_numbers_without_time_unit(tmp_path, run_split, values, kind, policy):
    pacsv.write_csv(pa.table({"t": values, "v": [1, 2]}), tmp_path / "ep.csv")
    r = run_split(tmp_path / "ep.csv", "--out", tmp_path / "o", "--time-column", "t", "--on-bad-time", policy)
    _fails(r, 2, f"time column 't' holds numbers ({kind}); pass --time-unit s|ms|us|ns")
    assert not (tmp_path / "o").exists()


def test_csv_epoch_numbers_with_time_unit_still_work(tmp_path, run_split):
    pacsv.write_csv(pa.table({"t": [1700000000, 1700000100], "v": [1, 2]}), tmp_path / "ep.csv")
    r = run_split(tmp_path / "ep.csv", "--out", tmp_path / "o", "--time-column", "t", "--time-unit", "s",
                  "--group-by", "year")
    assert r.exit_code == 0 and read_manifest(tmp_path / "o").shards[0].group == {"year": 2023}


def test_text_mixing_numbers_and_words_is_a_parse_error(tmp_path, run_split):
    pacsv.write_csv(pa.table({"t": ["2024-01-01", "12", "soon"], "v": [1, 2, 3]}), tmp_path / "m.csv")
    _fails(run_split(tmp_path / "m.csv", "--out", tmp_path / "o", "--time-column", "t"), 1,
           "2 rows have a time in column 't' that cannot be parsed", "'soon'")
