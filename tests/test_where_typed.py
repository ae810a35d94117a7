"""``where`` on decimal, timestamp, date and time group columns compares values, not manifest text:
random group values (stored as the splitter stores them, splitters.groupvalues.json_value) and random
literal spellings and operators select the same groups as pandas' filter of the typed values."""

import datetime as dt
import decimal
import operator

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.contract.errors import FilterError
from datagen.reader.where import compile_where
from splitters.groupvalues import json_value

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
       "!=": operator.ne}
UTC = dt.timezone.utc

decimals = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC))
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1))
times = st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
offsets = st.sampled_from([None, 0, 60, -300, 330])


def spell_decimal(value: decimal.Decimal, how: int):
    if how == 0:
        return value.normalize().to_eng_string() if value else "0"   # '2' for 2.00
    if how == 1:
        return str(value.quantize(decimal.Decimal("0.0001")))          # '2.0000'
    if how == 2 and value == value.to_integral_value():
        return int(value)                                              # a number literal
    return float(value) if how == 3 and float(value) == value else str(value)


def spell_instant(value: dt.datetime, offset, space: bool) -> str:
    if offset is None:
        text = value.replace(tzinfo=None).isoformat()                  # no offset: UTC
    else:
        text = value.astimezone(dt.timezone(dt.timedelta(minutes=offset))).isoformat()
    return text.replace("T", " ") if space else text


def run(type_name: str, stored: list, literal, op: str) -> list[bool]:
    groups = [{"c": json_value(v)} for v in stored]
    text = f"c {op} {literal!r}"
    predicate = compile_where(text, ["c"], groups, {"c": type_name})
    return [predicate(g) for g in groups]


def pandas_filter(series: pd.Series, literal, op: str) -> list[bool]:
    return [bool(x) for x in OPS[op](series, literal)]


settings_ = settings(deadline=None, max_examples=50)


@settings_
@given(st.lists(decimals, min_size=1, max_size=8), decimals, st.integers(0, 3), st.sampled_from(list(OPS)))
def test_decimal_by_value(values, literal, how, op):
    got = run("decimal128(10, 2)", values, spell_decimal(literal, how), op)
    assert got == pandas_filter(pd.Series(values, dtype=object), literal, op)


@settings_
@given(st.lists(instants, min_size=1, max_size=8), instants, offsets, st.booleans(), st.sampled_from(list(OPS)),
       st.sampled_from(["timestamp[us, tz=UTC]", "timestamp[us]"]))
def test_timestamp_by_instant(values, literal, offset, space, op, type_name):
    stored = values if "tz" in type_name else [v.replace(tzinfo=None) for v in values]
    if "tz" not in type_name and offset is not None:   # an instant against zone-less (wall-clock) times
        with pytest.raises(FilterError, match="without an offset"):
            run(type_name, stored, spell_instant(literal, offset, space), op)
        offset = None                                   # the same wall-clock time, spelled without one
    got = run(type_name, stored, spell_instant(literal, offset, space), op)
    assert got == pandas_filter(pd.Series(pd.to_datetime(values, utc=True)), pd.Timestamp(literal), op)


@settings_
@given(st.lists(dates, min_size=1, max_size=8), dates, st.sampled_from(list(OPS)))
def test_date_by_value(values, literal, op):
    got = run("date32[day]", values, literal.isoformat(), op)
    assert got == pandas_filter(pd.Series(pd.to_datetime(values)), pd.Timestamp(literal), op)


@settings_
@given(st.lists(times, min_size=1, max_size=8), times, st.sampled_from(list(OPS)))
def test_time_by_value(values, literal, op):
    got = run("time64[us]", values, literal.isoformat(), op)
    assert got == pandas_filter(pd.Series(values, dtype=object), literal, op)


def test_the_reported_cases_and_the_dict_form():
    prices = [decimal.Decimal(v) for v in ["-5.00", "-1.00", "0.50", "2.00", "10.00", "123.45"]]
    hours = [dt.datetime(2024, 1, 1, 3 * i, tzinfo=UTC) for i in range(6)]
    groups = [{"p": json_value(p), "h": json_value(h)} for p, h in zip(prices, hours)]
    types = {"p": "decimal128(10, 2)", "h": "timestamp[us, tz=UTC]"}

    def picked(where):
        predicate = compile_where(where, ["p", "h"], groups, types)
        return [g["p"] for g in groups if predicate(g)]

    assert picked("p > '-2'") == ["-1.00", "0.50", "2.00", "10.00", "123.45"]
    assert picked("p > -2") == picked("p > '-2'")
    assert picked("p < '9'") == ["-5.00", "-1.00", "0.50", "2.00"]
    assert picked("p >= 2") == picked("p >= '2'") == ["2.00", "10.00", "123.45"]
    assert picked("p == '2.0'") == picked("p in [2, 0.5]")[1:] == ["2.00"]
    assert picked({"p": ["2.0", 10]}) == ["2.00", "10.00"]
    assert picked("h >= '2024-01-01 09:00:00'") == ["2.00", "10.00", "123.45"]
    assert picked("h >= '2024-01-01T10:00:00+01:00'") == ["2.00", "10.00", "123.45"]
    assert picked({"h": "2024-01-01T04:00:00+01:00"}) == ["-1.00"]
    for bad in ("p > 'abc'", "p == 'NaN'", "h > 5", "h < 'tomorrow'", "p > True"):
        with pytest.raises(FilterError, match="column"):
            compile_where(bad, ["p", "h"], groups, types)
    with pytest.raises(FilterError, match=r"where\['h'\]"):
        compile_where({"h": "noon"}, ["p", "h"], groups, types)
