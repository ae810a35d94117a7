"""Option values taken from numpy or pandas as the plain Python values they hold (``where`` dict
values, ``dtype``), so a generator's config stays plain JSON and means what the values say."""

from __future__ import annotations

import decimal
import math
from typing import Any

from .filter_values import python_value


def dtype_name(value: Any) -> Any:
    """``np.float32`` or ``np.dtype("float32")`` as "float32"; anything else as it is."""
    if isinstance(value, str) or value is None:
        return value
    try:
        import numpy as np

        return np.dtype(value).name
    except (TypeError, ValueError):
        return value


def python_values(value: Any) -> Any:
    """A ``where`` dict value as plain JSON: list-likes as lists (sets sorted), numpy and date values as
    ``python_value`` gives them."""
    if isinstance(value, (set, frozenset)):
        return sorted((python_value(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:  # a list, numpy array, pandas Series
        return [python_value(v) for v in value]
    return python_value(value)


_DROP = object()   # a value that can match no group of its column: left out of the config


def json_where(where: Any, types: dict[str, str] | None = None) -> Any:
    """A ``where`` dict as plain JSON that selects the same groups (``types``: the manifest's group column
    types). NaN and infinite floats are written as the manifest spells them ("NaN", "Infinity",
    "-Infinity"), which a filter reads back as the floats in a number column (JSON has no such numbers,
    and ``json.dumps`` would write tokens strict parsers refuse). A ``Decimal`` is written as text in a
    decimal column (compared by value), as the int or float it equals exactly in a number column, and
    left out where it equals nothing (a NaN, an infinity in a decimal column, 0.1 among floats: it
    matched no group before either)."""
    if not isinstance(where, dict):
        return where
    out = {}
    for key, value in where.items():
        type_name = (types or {}).get(key, "")
        if isinstance(value, list):
            out[key] = [v for v in (_json_value(v, type_name) for v in value) if v is not _DROP]
        else:
            one = _json_value(value, type_name)
            out[key] = [] if one is _DROP else one
    return out


def _json_value(value: Any, type_name: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
    if not isinstance(value, decimal.Decimal):
        return value
    if type_name.startswith("decimal"):   # a decimal column holds no NaN or infinity
        return str(value) if value.is_finite() else _DROP
    if value.is_nan():
        return _DROP
    if value.is_infinite():
        return "Infinity" if value > 0 else "-Infinity"
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if decimal.Decimal(as_float) == value else _DROP
