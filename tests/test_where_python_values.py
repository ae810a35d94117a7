"""A dict ``where`` built from pandas or numpy data means what its values say: numpy scalars
(``np.int64(3)``, ``np.float32('nan')``, ``np.bool_``), Python dates, datetimes and times, pandas
Timestamps and numpy datetime64 select the same groups as pandas' own comparison of the typed values;
values of no kind the column holds are still refused in one line."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen import DataGenerator
from datagen.contract.errors import ConfigError, FilterError
from datagen.reader.where import compile_where
from splitters.groupvalues import json_value

UTC = dt.timezone.utc
INT_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1))
instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC))


def picked(where: dict, column: str, type_name: str, stored: list) -> list[bool]:
    groups = [{column: json_value(v)} for v in stored]
    predicate = compile_where(where, [column], groups, {column: type_name})
    return [predicate(g) for g in groups]


@settings(deadline=None, max_examples=40)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=8), st.lists(st.integers(0, 100), min_size=1, max_size=3),
       st.sampled_from(INT_TYPES))
def test_numpy_integers_match_like_python_ints(stored, wanted, np_type):
    numpy_values = [np_type(v) for v in wanted]
    assert picked({"m": numpy_values}, "m", "int64", stored) == picked({"m": wanted}, "m", "int64", stored)
    assert picked({"m": numpy_values}, "m", "int64", stored) == list(pd.Series(stored).isin(wanted))


@settings(deadline=None, max_examples=40)
@given(st.lists(dates, min_size=1, max_size=8), dates, st.integers(0, 3))
def test_date_objects_match_by_value(stored, literal, how):
    value = [literal, pd.Timestamp(literal), np.datetime64(literal, "D"),
             np.datetime64(pd.Timestamp(literal).to_datetime64(), "ns")][how]
    expected = list(pd.Series(pd.to_datetime(stored)) == pd.Timestamp(literal))
    assert picked({"d": value}, "d", "date32[day]", stored) == expected


@settings(deadline=None, max_examples=40)
@given(st.lists(instants, min_size=1, max_size=8), instants, st.integers(0, 3))
def test_datetime_objects_match_by_instant(stored, literal, how):
    value = [literal, pd.Timestamp(literal), pd.Timestamp(literal).tz_convert("America/New_York"),
             np.datetime64(literal.replace(tzinfo=None), "ms")][how]  # a zone-less numpy time is UTC, as text is
    expected = list(pd.Series(pd.to_datetime(stored, utc=True)) == pd.Timestamp(literal))
    assert picked({"t": value}, "t", "timestamp[ms, tz=UTC]", stored) == expected


def test_numpy_floats_nan_bools_and_nat():
    assert picked({"f": np.float32("nan")}, "f", "double", [float("nan"), 1.5, None]) == [True, False, False]
    assert picked({"f": [np.float64(1.5), None]}, "f", "double", [float("nan"), 1.5, None]) == [False, True, True]
    assert picked({"b": np.bool_(True)}, "b", "bool", [True, False]) == [True, False]
    assert picked({"d": np.datetime64("NaT")}, "d", "date32[day]", [dt.date(2024, 1, 5), None]) == [False, True]


@pytest.mark.parametrize("where, message", [
    ({"m": dt.date(2024, 1, 1)}, r"where\['m'\]: column 'm' holds number values, cannot match '2024-01-01'"),
    ({"m": np.timedelta64(1, "D")}, r"where\['m'\]: expected a number"),
    ({"d": dt.datetime(2024, 1, 5, 1)}, r"where\['d'\]: column 'd' is date32\[day\].*'2024-01-05T01:00:00'"),  # not midnight
    ({"w": dt.datetime(2024, 1, 5, tzinfo=UTC)}, r"without an offset"),         # an instant against wall-clock times
])
def test_values_the_column_cannot_hold_are_refused(where, message):
    groups = [{"m": 1, "d": json_value(dt.date(2024, 1, 5)), "w": json_value(dt.datetime(2024, 1, 5))}]
    types = {"m": "int64", "d": "date32[day]", "w": "timestamp[us]"}
    with pytest.raises(FilterError, match=message):
        compile_where(where, ["m", "d", "w"], groups, types)


def test_generator_options_from_numpy_and_pandas(dataset):
    """Options taken from numpy or pandas (an Index of feature names, numpy ints and bools) are what they
    hold, and the config stays plain JSON that rebuilds the same generator."""
    import json

    names = pd.Index([f"f{i}" for i in range(4)])
    gen = DataGenerator(dataset, names, label=np.str_("label"), batch_size=np.int64(300), shuffle=np.bool_(True),
                        seed=np.uint8(3), memory_budget=np.int64(64 << 20), where={"month": np.arange(1, 4)})
    plain = DataGenerator(dataset, list(names), label="label", batch_size=300, shuffle=True, seed=3,
                          memory_budget=64 << 20, where={"month": [1, 2, 3]})
    assert json.loads(json.dumps(gen.config)) == plain.config
    np.testing.assert_array_equal(gen[1][0], plain[1][0])
    for bad, message in [({"batch_size": np.float64(2.5)}, "batch_size: expected a positive integer"),
                         ({"shuffle": np.int64(1)}, "shuffle: expected true or false"),
                         ({"features": np.array([1, 2])}, "features: expected column names")]:
        kwargs = {"features": list(names), **bad}
        with pytest.raises(ConfigError, match=message):
            DataGenerator(dataset, **kwargs)


def test_generator_takes_a_where_built_from_pandas(dataset):
    months = pd.Series([3, 5], dtype="int64")
    by_numpy = DataGenerator(dataset, [f"f{i}" for i in range(4)], label="label", batch_size=256,
                             where={"month": list(months.unique())})
    by_python = DataGenerator(dataset, [f"f{i}" for i in range(4)], label="label", batch_size=256,
                              where={"month": [3, 5]})
    assert 0 < by_numpy.num_rows == by_python.num_rows
    np.testing.assert_array_equal(by_numpy[0][0], by_python[0][0])


def test_midnight_timestamps_na_and_numpy_dtypes(dataset):
    """A zone-less midnight (how pandas holds dates) matches a date and the derived `date` text; pandas' NA
    is the null group; dtype takes numpy's float types."""
    groups = [{"date": "2024-01-03"}, {"date": "2024-01-04"}, {"date": None}]
    for literal in (pd.Timestamp("2024-01-03"), np.datetime64("2024-01-03T00:00"), dt.datetime(2024, 1, 3)):
        predicate = compile_where({"date": literal}, ["date"], groups, {"date": "string"})
        assert [predicate(g) for g in groups] == [True, False, False]
    predicate = compile_where({"date": list(pd.date_range("2024-01-03", "2024-01-04"))}, ["date"], groups,
                              {"date": "string"})
    assert [predicate(g) for g in groups] == [True, True, False]
    assert picked({"s": pd.NA}, "s", "string", ["a", None]) == [False, True]
    for dtype in (np.float64, np.dtype("float64"), "float64"):
        assert DataGenerator(dataset, ["f0"], label="label", dtype=dtype)[0][0].dtype == np.float64


FLOATS = st.one_of(st.sampled_from([float("nan"), float("inf"), float("-inf"), None, 0.0, -0.0]),
                   st.floats(allow_nan=False, allow_infinity=False, width=32))


@settings(deadline=None, max_examples=60)
@given(st.lists(FLOATS, min_size=1, max_size=8), st.lists(FLOATS, min_size=1, max_size=4),
       st.sampled_from(["double", "float", "int64", "uint8"]), st.booleans())
def test_config_where_is_strict_json_and_selects_what_the_floats_did(stored, wanted, type_name, as_list):
    """``gen.config`` spells NaN and infinite ``where`` floats as the manifest does ("NaN", "Infinity"):
    ``json.dumps(config, allow_nan=False)`` works, and a generator built from the config selects the
    same groups (an integer column holds none of them: they match nothing either way)."""
    import json

    from datagen.reader.options import GeneratorOptions

    if type_name in ("int64", "uint8"):
        stored = [None if v is None or v != v or abs(v) == float("inf") else int(abs(v)) % 200 for v in stored]
    where = {"g": wanted if as_list else wanted[0]}
    config = GeneratorOptions("unused", ["x"], where=where).to_config({"g": type_name})
    text = json.dumps(config, allow_nan=False)   # raises on NaN/Infinity tokens
    again = json.loads(text)["where"]
    assert picked(again, "g", type_name, stored) == picked(where, "g", type_name, stored)
    def same(s, w):   # the reference: null is its own group, NaN equals NaN, -0.0 equals 0.0
        return (s is None) == (w is None) and (s is None or s == w or (s != s and w != w))
    expected = [any(same(s, w) for w in (wanted if as_list else wanted[:1])) for s in stored]
    assert picked(where, "g", type_name, stored) == expected


DECIMALS = st.one_of(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000),
                     st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("0.1"),
                                      Decimal("3"), Decimal("2.50"), Decimal("12345678901234567890")]))


@settings(deadline=None, max_examples=60)
@given(st.lists(st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000,
                                                 max_value=1000)), min_size=1, max_size=6),
       st.lists(DECIMALS, min_size=1, max_size=4), st.sampled_from(["decimal128(10, 2)", "double", "int64"]))
def test_config_where_writes_decimals_so_they_select_the_same_groups(stored, wanted, type_name):
    """A ``Decimal`` in a dict ``where`` made ``gen.config`` raise (not JSON); it is written as text in a
    decimal column, as the number it equals exactly in a float or integer column, and left out where it
    can equal no group (NaN; 0.1 among floats)."""
    import json

    from datagen.reader.options import GeneratorOptions

    if type_name == "double":
        stored = [None if v is None else float(v) for v in stored]
    elif type_name == "int64":
        stored = [None if v is None else int(v) for v in stored]
    where = {"g": wanted}
    config = json.loads(json.dumps(GeneratorOptions("unused", ["x"], where=where).to_config({"g": type_name}),
                                   allow_nan=False))
    assert picked(config["where"], "g", type_name, stored) == picked(where, "g", type_name, stored)
