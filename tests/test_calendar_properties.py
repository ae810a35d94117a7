"""Calendar parts (year, month, day, hour, weekday, date) derived from microseconds in
years 1..9999, and wall-clock times in a time zone, against Python's ``datetime`` and
``zoneinfo`` (proleptic Gregorian calendar) as the reference."""

import datetime as dt
import zoneinfo

import numpy as np
from hypothesis import given, settings, strategies as st

from splitters.timekeys import derived_part, derived_value
from splitters.timescale import MAX_US, MIN_US, wall_clock, wall_clock_fits

EPOCH = dt.datetime(1970, 1, 1)
PARTS = ("year", "month", "day", "hour", "weekday", "date")
EDGES = [MIN_US, MIN_US + 1, MAX_US - 1, 0, -1, 86_400_000_000 - 1,
         (dt.datetime(1582, 10, 15) - EPOCH) // dt.timedelta(microseconds=1),   # Gregorian reform: no gap (proleptic)
         (dt.datetime(1900, 3, 1) - EPOCH) // dt.timedelta(microseconds=1),
         (dt.datetime(2000, 2, 29, 23, 59) - EPOCH) // dt.timedelta(microseconds=1)]
MICROS = st.one_of(st.integers(MIN_US, MAX_US - 1), st.sampled_from(EDGES))


def _reference(us: int) -> dict:
    t = EPOCH + dt.timedelta(microseconds=us)
    return {"year": t.year, "month": t.month, "day": t.day, "hour": t.hour, "weekday": t.weekday(),
            "date": t.date().isoformat()}


@settings(max_examples=60, deadline=None)
@given(st.lists(MICROS, min_size=1, max_size=40))
def test_calendar_parts_match_python_datetime(values):
    local = np.array(values, dtype=np.int64)
    for name in PARTS:
        got = [derived_value(name, c) for c in derived_part(name, local)]
        assert got == [_reference(v)[name] for v in values], name


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["Europe/Paris", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata",
                        "Australia/Lord_Howe"]),
       st.lists(MICROS, min_size=1, max_size=40))
def test_wall_clock_matches_zoneinfo(zone, values):
    """pandas converts 1678..2261, zoneinfo the rest: both must agree with zoneinfo everywhere, and a
    wall-clock time outside years 1..9999 is flagged, never wrapped."""
    us = np.array(values, dtype=np.int64)
    fits = wall_clock_fits(us, "us", zone)
    local, ok = wall_clock(us, zone)
    tz = zoneinfo.ZoneInfo(zone)
    for i, v in enumerate(values):
        try:
            wall = (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=v)).astimezone(tz)
        except OverflowError:
            assert not ok[i] and not fits[i], v
            continue
        assert ok[i] and fits[i], v
        assert int(local[i]) == (wall.replace(tzinfo=None) - EPOCH) // dt.timedelta(microseconds=1), (zone, v)
