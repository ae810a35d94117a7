"""One Arrow type per column across every input file (CSV and Parquet alike).

Rules (``unify_types``; ``None`` means "refuse: schema mismatch"):

- equal types, or a null (all-empty) column with anything -> that type;
- numbers (signed/unsigned integers, floats) -> numpy's promotion, which is what
  ``pandas.concat`` gives: int32 + int64 -> int64, int + float -> float64,
  float32 + float64 -> float64, uint8 + int8 -> int16, uint64 + int64 -> float64.
  Reading casts *safely*: an integer that a float64 cannot hold exactly
  (beyond 2**53) is refused with the file's name, never rounded silently;
- timestamps with the same time zone (or both naive) -> the finest unit
  (s + ms -> ms, ms + ns -> ns); a value outside the finer unit's range is refused;
- string + large_string -> large_string; binary likewise;
- dictionary (pandas category) of T + T, or two dictionaries of T -> T;
- anything else (string + int, bool + int, date + timestamp, different time zones,
  decimals of different scale) is refused. Text is never widened from numbers: the
  text of a number depends on how each file was written ("1" vs "1.0"), so a silent
  conversion would make groups and values depend on the file format.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

UNITS = ("s", "ms", "us", "ns")


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def unify_types(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The one type both ``a`` and ``b`` columns are read as, or ``None`` when they cannot be merged."""
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if pa.types.is_dictionary(a) or pa.types.is_dictionary(b):
        return _plain_unify(_value_type(a), _value_type(b))
    return _plain_unify(a, b)


def _plain_unify(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    if a == b:
        return a
    if _is_number(a) and _is_number(b):
        common = np.result_type(a.to_pandas_dtype(), b.to_pandas_dtype())
        return pa.from_numpy_dtype(common)
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        if a.tz != b.tz:
            return None
        unit = UNITS[max(UNITS.index(a.unit), UNITS.index(b.unit))]
        return pa.timestamp(unit, a.tz)
    for small, large in ((pa.string(), pa.large_string()), (pa.binary(), pa.large_binary())):
        if {a, b} == {small, large}:
            return large
    return None
