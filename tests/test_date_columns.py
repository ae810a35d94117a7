"""Calendar-date time columns (CSV text that is a date only, Parquet date32/date64): --timezone never
shifts a date; every part derived from it (date, year, month, day, weekday; hour 0) is the date's own,
and time_min/time_max are the UTC instants of its local midnight (splitters/localtimes.py)."""

import datetime as dt
import json
import zoneinfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings, strategies as st

from datagen.contract.manifest import read_manifest

PARTS = "year,month,day,weekday,hour,date"
SPECIAL_ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Chicago", "Asia/Tokyo", "Pacific/Apia",
                 "America/Santiago", "Asia/Beirut", "America/Havana", "UTC", "Etc/GMT+12", "Etc/GMT-14"]
ALL_ZONES = sorted(zoneinfo.available_timezones())


def _rows(out):
    """[(source_row, group dict)] of every shard row of the dataset in ``out``."""
    m = read_manifest(out)
    return [(int(r), s.group) for s in m.shards for r in pq.read_table(out / s.path)["_source_row"].to_pylist()]


def _own_parts(d: dt.date) -> dict:
    return {"year": d.year, "month": d.month, "day": d.day, "weekday": d.weekday(), "date": d.isoformat()}


def _midnight_exists(d: dt.date, zone: str) -> bool:
    z = zoneinfo.ZoneInfo(zone)
    local = dt.datetime(d.year, d.month, d.day, tzinfo=z)
    return local.astimezone(dt.timezone.utc).astimezone(z).replace(tzinfo=None) == local.replace(tzinfo=None)


def test_tester_case_csv_dates_west_of_utc(tmp_path, run_split):
    src = tmp_path / "daily.csv"
    src.write_text("d,v\n2024-01-01,1\n2024-02-01,2\n")
    out = tmp_path / "ds"
    r = run_split(src, "--out", out, "--time-column", "d", "--group-by", "year,month,day", "--timezone", "America/Chicago")
    assert r.exit_code == 0, r.output
    paths = sorted(s.path.rsplit("/", 1)[0] for s in read_manifest(out).shards)
    assert paths == ["year=2024/month=01/day=01", "year=2024/month=02/day=01"]
    m = read_manifest(out)
    # the bounds are UTC instants: local midnight in Chicago is 06:00 UTC in winter
    assert sorted(s.time_min for s in m.shards) == ["2024-01-01T06:00:00+00:00", "2024-02-01T06:00:00+00:00"]
    # the stored instant, seen in --timezone, is the date's midnight
    for s in m.shards:
        t = pq.read_table(out / s.path).column("d").to_pandas()
        assert (t.dt.tz_convert("America/Chicago").dt.strftime("%Y-%m-%d %H:%M") == f"{s.group['year']:04d}-"
                f"{s.group['month']:02d}-{s.group['day']:02d} 00:00").all()


def test_parquet_date32_and_date64_east_and_west(tmp_path, run_split):
    days = [dt.date(2024, 1, 1), dt.date(2024, 2, 29), dt.date(2023, 12, 31), dt.date(2024, 3, 10)]
    for kind, arr in (("d32", pa.array(days, pa.date32())), ("d64", pa.array(days, pa.date64()))):
        src = tmp_path / f"{kind}.parquet"
        pq.write_table(pa.table({"d": arr, "v": range(len(days))}), src)
        for zone in ("America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
            out = tmp_path / f"{kind}-{zone.replace('/', '_')}"
            r = run_split(src, "--out", out, "--time-column", "d", "--group-by", PARTS, "--timezone", zone)
            assert r.exit_code == 0, r.output
            for row, group in _rows(out):
                assert group == {**_own_parts(days[row]), "hour": 0}, (kind, zone, row, group)
            m = read_manifest(out)
            for s in m.shards:   # bounds: the instant local midnight begins, as pandas localizes it
                want = pd.Timestamp(s.group["date"]).tz_localize(zone).tz_convert("UTC").isoformat()
                assert s.time_min == s.time_max == want
                assert pq.read_table(out / s.path).schema.field("d").type == pa.date32()  # Parquet's date type


def test_append_to_date_dataset_and_show(tmp_path, run_split, run_datagen):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("d,v\n2024-01-01,1\n2024-01-02,2\n")
    b.write_text("d,v\n2024-01-03,3\n2024-01-01,4\n")
    out = tmp_path / "ds"
    assert run_split(a, "--out", out, "--time-column", "d", "--group-by", "day,weekday", "--timezone",
                     "America/Chicago").exit_code == 0
    r = run_split(b, "--out", out, "--append")
    assert r.exit_code == 0, r.output
    groups = sorted((s.group["day"], s.group["weekday"], s.rows) for s in read_manifest(out).shards)
    assert groups == [(1, 0, 1), (1, 0, 1), (2, 1, 1), (3, 2, 1)]
    shown = run_datagen("show", out)
    assert shown.exit_code == 0, shown.output
    assert "2024-01-01T06:00:00+00:00 .. 2024-01-03T06:00:00+00:00" in shown.output


def test_date_text_among_timestamps_keeps_its_day(tmp_path, run_split):
    """Per value: a date-only cell is a date (its own day), a cell with an offset is an instant."""
    src = tmp_path / "mixed.csv"
    src.write_text("t,v\n2024-05-01,0\n2024-05-01T03:00:00Z,1\n")
    out = tmp_path / "ds"
    r = run_split(src, "--out", out, "--time-column", "t", "--group-by", "date", "--timezone", "America/Denver")
    assert r.exit_code == 0, r.output
    assert dict(_rows(out)) == {0: {"date": "2024-05-01"}, 1: {"date": "2024-04-30"}}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dates=st.lists(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), min_size=1, max_size=12),
       zone=st.one_of(st.sampled_from(SPECIAL_ZONES), st.sampled_from(ALL_ZONES)),
       fmt=st.sampled_from(["csv", "date32"]))
def test_property_date_parts_are_the_dates_own(tmp_path_factory, run_split, dates, zone, fmt):
    d = tmp_path_factory.mktemp("dates")
    if fmt == "csv":
        src = d / "in.csv"
        src.write_text("d,v\n" + "".join(f"{x.isoformat()},{i}\n" for i, x in enumerate(dates)))
    else:
        src = d / "in.parquet"
        pq.write_table(pa.table({"d": pa.array(dates, pa.date32()), "v": range(len(dates))}), src)
    out = d / "out"
    r = run_split(src, "--out", out, "--time-column", "d", "--group-by", PARTS, "--timezone", zone)
    assert r.exit_code == 0, r.output
    rows = _rows(out)
    assert sorted(r for r, _ in rows) == list(range(len(dates)))
    for row, group in rows:
        x = dates[row]
        assert {k: group[k] for k in ("year", "month", "day", "weekday", "date")} == _own_parts(x), (x, zone, group)
        if 1678 < x.year < 2261:   # pandas' reference: the first instant of the day in the zone
            first = pd.Timestamp(x).tz_localize(zone, nonexistent="shift_forward", ambiguous=True)
            assert group["hour"] == first.hour, (x, zone, group)
        else:   # 0 unless midnight is skipped there, or 0001-01-01 east of UTC starts at the range's first instant
            assert group["hour"] == 0 or not _midnight_exists(x, zone) or x == dt.date(1, 1, 1), (x, zone, group)
    assert json.loads((out / "manifest.json").read_text())["config"]["timezone"] == zone
