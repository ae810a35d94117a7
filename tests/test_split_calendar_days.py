"""stage_groups.calendar_parts: in UTC the parts of the day come from one division of the ticks
(shared by all of them) and equal the parts derived from wall-clock microseconds one by one, at
both resolutions, before and after 1970; other zones and the hour keep the general path."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from splitters.stage_groups import calendar_parts
from splitters.timekeys import DAY_PARTS, derived_part
from splitters.timescale import MAX_NS, MAX_US, MIN_NS, MIN_US, to_us, wall_clock

RANGE = {"us": (MIN_US, MAX_US - 1), "ns": (MIN_NS, MAX_NS - 1)}
names = st.lists(st.sampled_from(sorted(DAY_PARTS | {"hour"})), min_size=1, max_size=4, unique=True)


@settings(deadline=None, max_examples=60)
@given(st.sampled_from(["us", "ns"]), st.data(), names, st.sampled_from(["UTC", "Europe/Paris"]))
def test_calendar_parts_equal_the_parts_of_wall_clock_microseconds(res, data, parts, zone):
    lo, hi = RANGE[res]
    if zone != "UTC":   # keep clear of the range's ends, where a wall clock may leave years 1..9999
        lo, hi = lo + 2 * 86_400 * 10**9, hi - 2 * 86_400 * 10**9
    near = st.integers(-3 * 86_400 * 10**9, 3 * 86_400 * 10**9)   # around 1970 and midnight
    ns = np.array(data.draw(st.lists(st.one_of(st.integers(lo, hi), near), min_size=1, max_size=50)), np.int64)
    got = calendar_parts(ns, res, parts, zone)
    local = wall_clock(to_us(ns, res), zone)[0]
    assert list(got) == parts
    for name in parts:
        assert np.array_equal(got[name], derived_part(name, local)), name


def test_one_division_serves_every_day_part_in_utc():
    ns = np.array([-1, 0, 86_400 * 10**9 - 1, 86_400 * 10**9, 1_709_164_800 * 10**9], np.int64)   # ..., 2024-02-29
    got = calendar_parts(ns, "ns", ["date", "month", "day", "year", "weekday"], "UTC")
    assert got["date"].tolist() == [-1, 0, 0, 1, 19782]
    assert got["month"].tolist()[-1] == 2 and got["day"].tolist()[-1] == 29 and got["year"].tolist()[-1] == 2024
    assert got["weekday"].tolist()[:2] == [2, 3]   # 1969-12-31 a Wednesday, 1970-01-01 a Thursday
