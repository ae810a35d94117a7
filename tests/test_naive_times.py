"""Zone-less times and --naive-timezone (splitters/localtimes.py): ISO text without Z or an offset and
timestamps without a zone are wall-clock times in --naive-timezone (default UTC, stored in the
manifest's config only when set); a DST gap moves a time forward by the gap, an overlap takes the
earlier instant (Python's fold=0). Old manifests without the key read and append as before."""

import datetime as dt
import json
import zoneinfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

from cli_checks import fails
from datagen.contract.manifest import read_manifest
from splitters.config import SplitConfig
from splitters.localtimes import localize_us
from splitters.timescale import MAX_US, MIN_US

NY = "America/New_York"
EPOCH = dt.datetime(1970, 1, 1)
ONE_US = dt.timedelta(microseconds=1)


def _by_row(out):
    m = read_manifest(out)
    got = {}
    for s in m.shards:
        t = pq.read_table(out / s.path)
        for row, ts in zip(t["_source_row"].to_pylist(), t.column(0).to_pylist()):
            got[row] = (s.group, ts)
    return got


def _trips(tmp_path):
    src = tmp_path / "trips.csv"
    src.write_text("pickup,v\n2023-01-01 00:32:10,0\n2023-03-12 02:30:00,1\n2023-11-05 01:30:00,2\n"
                   "2023-01-01T00:32:10Z,3\n2023-06-30 23:59:59.5,4\n")
    return src


def test_naive_text_in_new_york_lands_on_its_own_day(tmp_path, run_split):
    out = tmp_path / "ds"
    r = run_split(_trips(tmp_path), "--out", out, "--time-column", "pickup", "--group-by", "month,day,hour",
                  "--timezone", NY, "--naive-timezone", NY)
    assert r.exit_code == 0, r.output
    assert "note:" not in r.stderr
    got = _by_row(out)
    utc = dt.timezone.utc
    assert got[0] == ({"month": 1, "day": 1, "hour": 0}, dt.datetime(2023, 1, 1, 5, 32, 10, tzinfo=utc))
    # spring forward: 02:30 does not exist in New York; moved forward by the gap, to 03:30 EDT
    assert got[1] == ({"month": 3, "day": 12, "hour": 3}, dt.datetime(2023, 3, 12, 7, 30, tzinfo=utc))
    # fall back: 01:30 happens twice; the earlier instant (EDT)
    assert got[2] == ({"month": 11, "day": 5, "hour": 1}, dt.datetime(2023, 11, 5, 5, 30, tzinfo=utc))
    # text with Z is an instant: its UTC time shown in New York is the evening before
    assert got[3] == ({"month": 12, "day": 31, "hour": 19}, dt.datetime(2023, 1, 1, 0, 32, 10, tzinfo=utc))
    assert got[4][0] == {"month": 6, "day": 30, "hour": 23}
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["naive_timezone"] == NY and list(config).index("naive_timezone") == list(config).index("timezone") + 1


def test_without_naive_timezone_utc_as_before_with_a_note(tmp_path, run_split):
    out = tmp_path / "ds"
    r = run_split(_trips(tmp_path), "--out", out, "--time-column", "pickup", "--group-by", "month,day",
                  "--timezone", NY)
    assert r.exit_code == 0, r.output
    assert _by_row(out)[0][0] == {"month": 12, "day": 31}   # read as UTC, as documented before
    notes = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "4 times in column 'pickup' have no zone and were read as UTC" in notes[0]
    assert f"--naive-timezone {NY}" in notes[0]
    assert "naive_timezone" not in json.loads((out / "manifest.json").read_text())["config"]
    # UTC everywhere: no note, and --naive-timezone UTC is the default (no key, up to date)
    out2, src = tmp_path / "ds2", tmp_path / "trips.csv"
    r = run_split(src, "--out", out2, "--time-column", "pickup")
    assert r.exit_code == 0 and "note:" not in r.stderr
    r = run_split(src, "--out", out2, "--time-column", "pickup", "--naive-timezone", "UTC")
    assert r.exit_code == 0 and "up to date" in r.output, r.output


def test_parquet_naive_timestamps_and_zoned_column_note(tmp_path, run_split):
    src = tmp_path / "naive.parquet"
    wall = [dt.datetime(2023, 1, 1, 0, 32), dt.datetime(2023, 11, 5, 1, 30), dt.datetime(2023, 3, 12, 2, 30)]
    pq.write_table(pa.table({"t": pa.array(wall, pa.timestamp("ms")), "v": [0, 1, 2]}), src)
    out = tmp_path / "ds"
    r = run_split(src, "--out", out, "--time-column", "t", "--group-by", "day,hour", "--timezone", NY,
                  "--naive-timezone", NY)
    assert r.exit_code == 0, r.output
    got = _by_row(out)
    assert [got[i][0] for i in range(3)] == [{"day": 1, "hour": 0}, {"day": 5, "hour": 1}, {"day": 12, "hour": 3}]
    assert [got[i][1] for i in range(3)] == wall   # the column keeps its type and values
    assert read_manifest(out).shards[0].time_min.endswith("+00:00")
    zoned = tmp_path / "zoned.parquet"
    pq.write_table(pa.table({"t": pa.array([0], pa.timestamp("ms", tz=NY))}), zoned)
    r = run_split(zoned, "--out", tmp_path / "z", "--time-column", "t", "--group-by", "day")
    assert r.exit_code == 0 and f"note: column 't' is a timestamp in {NY}, filed by its calendar day in UTC" in r.stderr
    assert _by_row(tmp_path / "z")[0][0] == {"day": 1}


def test_zone_less_time_leaving_the_range_is_bad(tmp_path, run_split):
    src = tmp_path / "edge.csv"
    src.write_text("t\n9999-12-31 23:00:00\n")
    r = run_split(src, "--out", tmp_path / "ds", "--time-column", "t", "--naive-timezone", NY, "--group-by", "day")
    fails(r, 1, "1 rows have a time in column 't'", "9999-12-31 23:00:00")


def test_config_validation():
    with pytest.raises(Exception, match="naive_timezone: unknown time zone 'Mars/Base'"):
        SplitConfig(inputs=["a"], out="o", time_column="t", naive_timezone="Mars/Base")
    with pytest.raises(Exception, match="--naive-timezone given without --time-column"):
        SplitConfig(inputs=["a"], out="o", group_by=["x"], naive_timezone=NY)
    assert SplitConfig(inputs=["a"], out="o", time_column="t", naive_timezone="UTC").naive_timezone is None
    assert "naive_timezone" not in SplitConfig(inputs=["a"], out="o", time_column="t").semantic()


def test_append_keeps_the_setting_and_old_manifests(tmp_path, run_split):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("t,v\n2023-01-01 00:30:00,0\n")
    b.write_text("t,v\n2023-02-01 00:30:00,1\n")
    new = tmp_path / "new"
    assert run_split(a, "--out", new, "--time-column", "t", "--group-by", "month,day", "--timezone", NY,
                     "--naive-timezone", NY).exit_code == 0
    fails(run_split(b, "--out", new, "--append", "--naive-timezone", "UTC"), 2, "--naive-timezone", "America/New_York")
    r = run_split(b, "--out", new, "--append")
    assert r.exit_code == 0, r.output
    assert sorted((s.group["month"], s.group["day"]) for s in read_manifest(new).shards) == [(1, 1), (2, 1)]
    # a dataset whose manifest has no key (as every manifest before --naive-timezone): UTC, as before
    old = tmp_path / "old"
    assert run_split(a, "--out", old, "--time-column", "t", "--group-by", "month,day", "--timezone", NY).exit_code == 0
    fails(run_split(b, "--out", old, "--append", "--naive-timezone", NY), 2, "--naive-timezone")
    r = run_split(b, "--out", old, "--append", "--naive-timezone", "UTC")
    assert r.exit_code == 0, r.output
    assert sorted((s.group["month"], s.group["day"]) for s in read_manifest(old).shards) == [(1, 31), (12, 31)]
    assert "naive_timezone" not in json.loads((old / "manifest.json").read_text())["config"]


def _reference(wall_us: int, zone: str):
    """Python's zoneinfo with fold=0: (UTC microseconds) or None outside years 1..9999."""
    local = EPOCH + dt.timedelta(microseconds=wall_us)
    try:
        return (local - local.replace(tzinfo=zoneinfo.ZoneInfo(zone)).utcoffset() - EPOCH) // ONE_US
    except OverflowError:
        return None


ZONES = sorted(zoneinfo.available_timezones())
# wall clocks near DST changes of a few zones, plus anything in years 1..9999
NEAR = [(EPOCH.replace(year=y, month=mo, day=d, hour=h) - EPOCH) // ONE_US
        for y in (1970, 2023, 2100) for mo, d in ((3, 12), (3, 26), (10, 29), (11, 5), (4, 2), (9, 24))
        for h in (0, 1, 2, 3)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(MIN_US, MAX_US - 1),
                          st.builds(lambda a, b: a + b, st.sampled_from(NEAR), st.integers(-3_600_000_000, 3_600_000_000))),
                min_size=1, max_size=40),
       st.one_of(st.sampled_from([NY, "Europe/London", "Australia/Lord_Howe", "Pacific/Kiritimati",
                                  "Pacific/Pago_Pago", "America/Santiago"]), st.sampled_from(ZONES)))
def test_property_localize_matches_python_fold0(walls, zone):
    utc, ok = localize_us(np.array(walls, np.int64), zone)
    for w, u, k in zip(walls, utc.tolist(), ok.tolist()):
        ref = _reference(w, zone)
        assert (u if k else None) == ref, (w, zone)
        if ref is not None and 1678 < (EPOCH + dt.timedelta(microseconds=w)).year < 2261:   # and pandas agrees
            p = pd.Timestamp(w * 1000).tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            assert p is pd.NaT or p.value // 1000 == u
