"""One Arrow type per column across every input file (CSV and Parquet alike):
``unified_schema`` checks the files have the same columns and merges their types.

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

from datagen.contract.errors import SchemaError

from .sources import SourceFile

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


def unified_schema(sources: list[SourceFile], schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for all sources (the rules are in ``unify``); every source is read as it.
    A mismatch names the column and both files."""
    ref_src, ref = sources[0], schemas[0]
    fields = {f.name: f.type for f in ref}
    origin = {f.name: ref_src.url for f in ref}
    for src, schema in zip(sources[1:], schemas[1:]):
        names = schema.names
        missing = [n for n in ref.names if n not in names]
        extra = [n for n in names if n not in ref.names]
        if missing or extra:
            what = f"lacks column {missing[0]!r}" if missing else f"has an extra column {extra[0]!r}"
            raise SchemaError(f"schema mismatch: {src.url!r} {what} (compared with {ref_src.url!r})")
        for f in schema:
            if f.type == fields[f.name]:
                continue
            merged = unify_types(fields[f.name], f.type)
            if merged is None:
                raise SchemaError(
                    f"schema mismatch: column {f.name!r} is {f.type} in {src.url!r} "
                    f"but {fields[f.name]} in {origin[f.name]!r}; convert one of them"
                )
            if merged != fields[f.name]:
                origin[f.name] = src.url
            fields[f.name] = merged
    return pa.schema([pa.field(n, pa.string() if pa.types.is_null(t) else t) for n, t in fields.items()])
