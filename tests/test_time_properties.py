"""Property tests of time parsing against references: pandas ``to_datetime`` per
value for ISO text and integer epochs, Python arithmetic for float epochs and
Arrow timestamps/dates. A time is bad exactly where the reference fails or lies
outside the supported range [1677-09-22, 2262-04-11) UTC; never NaT or a
wrapped-around value."""

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from splitters.timekeys import MAX_NS, MIN_NS, NS_PER, parse_times

UTC = dt.timezone.utc
LO = pd.Timestamp(dt.datetime(1677, 9, 22, tzinfo=UTC))
HI = pd.Timestamp(dt.datetime(2262, 4, 11, tzinfo=UTC))


def test_supported_range_constants():
    assert MIN_NS == LO.as_unit("ns").value and MAX_NS == HI.as_unit("ns").value


def _iso_reference(text):
    """(bad, ns) for one string, parsed alone by pandas."""
    if text is None:
        return True, 0
    try:
        ts = pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        return True, 0
    if ts is pd.NaT or not (LO <= ts < HI):
        return True, 0
    return False, ts.as_unit("ns").value


@st.composite
def iso_strings(draw):
    year = draw(st.one_of(st.integers(1, 9999), st.sampled_from([1600, 1677, 1678, 2261, 2262, 2263, 2300])))
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
@given(st.lists(st.one_of(iso_strings(), st.none(), st.sampled_from(["yesterday", "", "2024-13-01", "1700000000"])),
                min_size=1, max_size=30))
def test_iso_text_matches_pandas_per_value(values):
    parsed = parse_times(pa.array(values, pa.string()), None)
    for i, text in enumerate(values):
        bad, ns = _iso_reference(text)
        assert bool(parsed.bad[i]) == bad, (text, parsed.bad[i])
        if not bad:
            assert int(parsed.ns[i]) == ns, text
    assert not (parsed.outside & ~parsed.bad).any()


INT64 = st.one_of(st.integers(-2**63, 2**63 - 1),
                  st.sampled_from([-2**63, -2**63 + 1, 2**63 - 1, 0, MIN_NS, MAX_NS - 1, MAX_NS, MIN_NS - 1]))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(NS_PER)), st.lists(st.one_of(INT64, st.none()), min_size=1, max_size=30))
def test_integer_epochs_match_pandas(unit, values):
    parsed = parse_times(pa.array(values, pa.int64()), unit)
    for i, v in enumerate(values):
        if v is None:
            assert parsed.bad[i]
            continue
        try:
            ts = pd.to_datetime(v, unit=unit, utc=True)
            bad = ts is pd.NaT or not (LO <= ts < HI)
        except (ValueError, OverflowError):
            bad = True
        assert bool(parsed.bad[i]) == bad, (v, unit)
        assert bool(parsed.outside[i]) == bad, "a non-null number is bad only for its range"
        if not bad:
            assert int(parsed.ns[i]) == v * NS_PER[unit]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(NS_PER)),
       st.lists(st.one_of(st.floats(), st.sampled_from([9.2233720368547758e18, -9.2233720368547758e18, 1.7e9]),
                          st.none()), min_size=1, max_size=30))
def test_float_epochs_bad_exactly_outside_the_range(unit, values):
    parsed = parse_times(pa.array(values, pa.float64()), unit)
    for i, v in enumerate(values):
        if v is None:
            assert parsed.bad[i]
            continue
        product = v * NS_PER[unit]  # the time is the float product, rounded to whole ns
        bad = not (MIN_NS <= product < MAX_NS)
        assert bool(parsed.bad[i]) == bad, (v, unit)
        if not bad:
            assert int(parsed.ns[i]) == int(round(product))
            assert MIN_NS <= int(parsed.ns[i]) < MAX_NS


def test_unsigned_epochs_above_int64_are_bad_not_wrapped():
    parsed = parse_times(pa.array([2**63 + 5, 2**64 - 1, 1_700_000_000], pa.uint64()), "s")
    assert parsed.bad.tolist() == [True, True, False] and parsed.ns[2] == 1_700_000_000 * 10**9


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["s", "ms", "us", "ns", "date32", "date64"]),
       st.lists(st.one_of(st.integers(-2**63 + 1, 2**63 - 1), st.integers(-10**6, 10**6), st.none()),
                min_size=1, max_size=30))
def test_arrow_timestamps_and_dates(kind, values):
    if kind == "date32":
        values = [None if v is None else max(-2**31, min(2**31 - 1, v)) for v in values]
        arr, scale = pa.array(values, pa.int32()).cast(pa.date32()), 86_400 * 10**9
    elif kind == "date64":
        arr, scale = pa.array(values, pa.int64()).view(pa.date64()), 10**6
    else:
        arr, scale = pa.array(values, pa.int64()).view(pa.timestamp(kind)), NS_PER[kind]
    parsed = parse_times(arr, None)
    for i, v in enumerate(values):
        bad = v is None or not (MIN_NS <= v * scale < MAX_NS)   # exact Python integers
        assert bool(parsed.bad[i]) == bad, (kind, v)
        if not bad:
            assert int(parsed.ns[i]) == v * scale
    assert np.all(parsed.ns[parsed.bad] == 0)
