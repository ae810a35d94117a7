"""How a ``where`` filter sees group values (the semantics where.py documents).

A value's kind is number, string, bool or null; values of different kinds are never equal and
never ordered; NaN equals NaN (it is a group like any other) and nulls and NaN never order.
In a float column the strings the manifest uses for non-finite values ("NaN", "Infinity",
"-Infinity") stand for those floats (spellings shared with outputs.group_value). Decimal,
timestamp, date and time columns compare by value (typed_values.py), never as text.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
from typing import Any, Callable, Iterable

import numpy as np

from .outputs import FLOAT_TYPES, NON_FINITE
from .typed_values import Typed, stored_value, typed_kind


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, decimal.Decimal)):
        return "number"
    if isinstance(value, Typed):
        return value.kind
    return "string" if isinstance(value, str) else "other"


def equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN is a group value like any other
    return kind(a) == kind(b) and a == b


def python_value(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``np.int64(3)`` -> 3), a date, datetime or time (a
    pandas Timestamp is one) or a numpy ``datetime64`` as its ISO-8601 text (NaT: None, as pandas counts
    it missing, as is pandas' NA); anything else as it is. A zone-less midnight is written as its date
    (``pd.Timestamp("2024-01-03")`` -> "2024-01-03": how pandas holds dates; the same instant for a
    timestamp column, the date for a date column or the derived ``date`` part). Filters built from pandas
    or numpy data then mean what their values say, and a generator's config stays plain JSON."""
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else python_value(value.astype("datetime64[us]").item()) \
            if value.astype("datetime64[us]") == value else str(np.datetime_as_string(value))
    if isinstance(value, _dt.datetime) and value == value and value.tzinfo is None and value.time() == _dt.time() \
            and not getattr(value, "nanosecond", 0):
        return value.date().isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return None if value != value else value.isoformat()  # pandas NaT is a datetime unequal to itself
    if type(value).__name__ == "NAType":   # pandas.NA (nullable dtypes): missing
        return None
    if isinstance(value, np.generic) and not isinstance(value, np.timedelta64):
        item = value.item()
        return item if isinstance(item, (bool, int, float, str, bytes)) else value
    return value


def non_finite(value: Any) -> Any:
    """The float a string such as "NaN" or "-Infinity" spells (as the manifest stores them), else the value."""
    if isinstance(value, str) and value.strip().lower() in NON_FINITE:
        return NON_FINITE[value.strip().lower()]
    return value


def ordered(op: Callable, a: Any, b: Any) -> bool:
    ka = kind(a)
    return ka == kind(b) and ka in ("number", "string", "bool", "timestamp", "date", "time") and op(a, b)


def normaliser(types: dict[str, str]) -> Callable[[dict], dict]:
    """Group values as the filter sees them, for one dataset's ``types``: "NaN"/"inf" strings in float
    columns become floats; decimal, timestamp, date and time text becomes typed values
    (typed_values.py). Each column's conversion is chosen once: a filter runs over every shard's group
    (100k shards: per-value type lookups cost a tenth of a second)."""
    convert: dict[str, Callable[[Any], Any]] = {}
    for key, type_name in types.items():
        if type_name in FLOAT_TYPES:
            convert[key] = non_finite
        elif typed_kind(type_name):
            convert[key] = functools.partial(_stored, typed_kind(type_name))
    if not convert:
        return lambda group: group

    def normalise_one(group: dict) -> dict:
        out = dict(group)
        for key, fn in convert.items():
            if key in out:
                out[key] = fn(out[key])
        return out
    return normalise_one


def _stored(kind_name: str, value: Any) -> Any:
    return stored_value(value, kind_name)


_KIND_OF_TYPE = {type(None): "null", bool: "bool", int: "number", float: "number", str: "string"}


def group_kinds(group_names: list[str], groups: Iterable[dict]) -> dict[str, set[str]]:
    """The kinds (number, string, bool) each group column holds across ``groups``."""
    kinds: dict[str, set[str]] = {n: set() for n in group_names}
    fast = _KIND_OF_TYPE.get
    for g in groups:
        for n in group_names:
            v = g.get(n)
            k = fast(type(v))  # exact types by a lookup; a subclass by kind()
            kinds[n].add(k if k is not None else kind(v))
    return {n: k - {"null", "other"} for n, k in kinds.items()}
