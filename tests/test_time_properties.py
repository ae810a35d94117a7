"""Property tests of time parsing against references: pandas ``to_datetime`` per
value for ISO text, exact Python arithmetic for integer and float epochs and Arrow
timestamps/dates. Times are int64 ticks at the split's resolution (microseconds,
years 1..9999; nanoseconds for timestamp[ns] and --time-unit ns, 1677-09-22..2262-04-10).
A time is bad exactly where the reference fails, lies outside the range, or (text at
microseconds) has digits finer than a microsecond; never NaT, a wrapped or a rounded value."""

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from splitters.timekeys import MAX_NS, MIN_NS, NS_PER, parse_times
from splitters.timescale import MAX_US, MIN_US, RANGES, TICKS, iso_time, resolution

UTC = dt.timezone.utc
LO = pd.Timestamp(dt.datetime(1677, 9, 22, tzinfo=UTC))
HI = pd.Timestamp(dt.datetime(2262, 4, 11, tzinfo=UTC))
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def test_supported_range_constants():
    assert MIN_NS == LO.as_unit("ns").value and MAX_NS == HI.as_unit("ns").value
    assert MIN_US == (dt.datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // dt.timedelta(microseconds=1)
    assert MAX_US - 1 == (dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - EPOCH) // dt.timedelta(microseconds=1)
    assert iso_time(MIN_US, "us") == "0001-01-01T00:00:00+00:00"
    assert iso_time(MAX_US - 1, "us") == "9999-12-31T23:59:59.999999+00:00"


def test_resolution_rule():
    assert resolution(pa.timestamp("ns", "UTC"), None) == "ns"
    assert [resolution(pa.timestamp(u), None) for u in ("s", "ms", "us")] == ["us"] * 3
    assert resolution(pa.date32(), None) == resolution(pa.string(), None) == resolution(pa.int64(), "s") == "us"
    assert resolution(pa.string(), "ns") == resolution(pa.int64(), "ns") == "ns"


def _iso_reference(text, res):
    """(bad, ticks) for one string, parsed alone by pandas."""
    if text is None:
        return True, 0
    try:
        ts = pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        return True, 0
    if ts is pd.NaT:
        return True, 0
    if res == "ns":
        if not (LO <= ts < HI):
            return True, 0
        return False, ts.as_unit("ns").value
    if ts.nanosecond:
        return True, 0   # finer than a microsecond: never rounded
    return False, (ts.to_pydatetime() - EPOCH) // dt.timedelta(microseconds=1)   # years 1..9999 only


@st.composite
def iso_strings(draw):
    year = draw(st.one_of(st.integers(1, 9999), st.sampled_from([1, 1600, 1677, 1678, 2261, 2262, 2263, 2300, 9999])))
    text = f"{year:04d}-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"
    if draw(st.booleans()):
        text += f"{draw(st.sampled_from(['T', ' ']))}{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
        text += f":{draw(st.integers(0, 59)):02d}"
        digits = draw(st.integers(0, 9))
        if digits:
            text += "." + "".join(str(draw(st.integers(0, 9))) for _ in range(digits))
        text += draw(st.sampled_from(["", "Z", "+02:00", "-05:30", "+14:00"]))
    return text


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([None, "ns"]),
       st.lists(st.one_of(iso_strings(), st.none(), st.sampled_from(["yesterday", "", "2024-13-01", "1700000000"])),
                min_size=1, max_size=30))
def test_iso_text_matches_pandas_per_value(unit, values):
    res = resolution(pa.string(), unit)
    parsed = parse_times(pa.array(values, pa.string()), unit, res)
    for i, text in enumerate(values):
        bad, ticks = _iso_reference(text, res)
        assert bool(parsed.bad[i]) == bad, (text, res, parsed.bad[i])
        if not bad:
            assert int(parsed.ns[i]) == ticks, text
    assert not (parsed.outside & ~parsed.bad).any()
    assert not (parsed.finer & ~parsed.bad).any()


INT64 = st.one_of(st.integers(-2**63, 2**63 - 1),
                  st.sampled_from([-2**63, -2**63 + 1, 2**63 - 1, 0, MIN_NS, MAX_NS - 1, MAX_NS, MIN_NS - 1,
                                   MIN_US, MAX_US - 1, MAX_US, MIN_US - 1, MIN_US // 1000, MAX_US // 1000]))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(NS_PER)), st.lists(st.one_of(INT64, st.none()), min_size=1, max_size=30))
def test_integer_epochs_exact(unit, values):
    res = resolution(pa.int64(), unit)
    lo, hi = RANGES[res]
    parsed = parse_times(pa.array(values, pa.int64()), unit, res)
    for i, v in enumerate(values):
        if v is None:
            assert parsed.bad[i]
            continue
        ticks = v * TICKS[res][unit]   # exact Python integers
        bad = not (lo <= ticks < hi)
        assert bool(parsed.bad[i]) == bad, (v, unit)
        assert bool(parsed.outside[i]) == bad, "a non-null number is bad only for its range"
        if not bad:
            assert int(parsed.ns[i]) == ticks


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(NS_PER)),
       st.lists(st.one_of(st.floats(), st.sampled_from([9.2233720368547758e18, -9.2233720368547758e18, 1.7e9,
                                                        2.534023008e11, -6.21355968e10]),
                          st.none()), min_size=1, max_size=30))
def test_float_epochs_bad_exactly_outside_the_range(unit, values):
    res = resolution(pa.float64(), unit)
    lo, hi = RANGES[res]
    parsed = parse_times(pa.array(values, pa.float64()), unit, res)
    for i, v in enumerate(values):
        if v is None:
            assert parsed.bad[i]
            continue
        product = v * TICKS[res][unit]  # the time is the float product, rounded to whole ticks (half to even)
        ticks = round(product) if np.isfinite(product) else None
        bad = ticks is None or not (lo <= ticks < hi)
        assert bool(parsed.bad[i]) == bad, (v, unit)
        if not bad:
            assert int(parsed.ns[i]) == ticks


def test_unsigned_epochs_above_int64_are_bad_not_wrapped():
    parsed = parse_times(pa.array([2**63 + 5, 2**64 - 1, 1_700_000_000], pa.uint64()), "s")
    assert parsed.bad.tolist() == [True, True, False] and parsed.ns[2] == 1_700_000_000 * 10**6


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["s", "ms", "us", "ns", "date32", "date64"]),
       st.lists(st.one_of(st.integers(-2**63 + 1, 2**63 - 1), st.integers(-10**6, 10**6),
                          st.integers(MIN_US // 10**6 - 10, MAX_US // 10**6 + 10), st.none()),
                min_size=1, max_size=30))
def test_arrow_timestamps_and_dates(kind, values):
    if kind == "date32":
        values = [None if v is None else max(-2**31, min(2**31 - 1, v)) for v in values]
        arr = pa.array(values, pa.int32()).cast(pa.date32())
    elif kind == "date64":
        arr = pa.array(values, pa.int64()).view(pa.date64())
    else:
        arr = pa.array(values, pa.int64()).view(pa.timestamp(kind))
    res = resolution(arr.type, None)
    scale = {"date32": 86_400 * TICKS[res]["s"], "date64": TICKS[res]["ms"]}.get(kind) or TICKS[res][kind]
    lo, hi = RANGES[res]
    parsed = parse_times(arr, None)
    for i, v in enumerate(values):
        bad = v is None or not (lo <= v * scale < hi)   # exact Python integers
        assert bool(parsed.bad[i]) == bad, (kind, v)
        if not bad:
            assert int(parsed.ns[i]) == v * scale
    assert np.all(parsed.ns[parsed.bad] == 0)
