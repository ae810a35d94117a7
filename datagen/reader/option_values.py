"""Option values taken from numpy or pandas as the plain Python values they hold (``where`` dict
values, ``dtype``), so a generator's config stays plain JSON and means what the values say."""

from __future__ import annotations

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


def spelled_non_finite(value: Any) -> Any:
    """``value`` (a config's ``where``) with NaN and infinite floats written as the manifest spells them
    ("NaN", "Infinity", "-Infinity"): JSON has no such numbers (``json.dumps`` would write NaN, which
    strict parsers refuse). A filter reads those words back as the floats in a number column."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: spelled_non_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [spelled_non_finite(v) for v in value]
    return value
