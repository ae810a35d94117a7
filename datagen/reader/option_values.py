"""Option values taken from numpy or pandas as the plain Python values they hold (``where`` dict
values, ``dtype``), so a generator's config stays plain JSON and means what the values say."""

from __future__ import annotations

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
