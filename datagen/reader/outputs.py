"""Output dtypes, decided once from the manifest schema, and the Arrow -> numpy conversions.

Rules (also in the README):

* Float outputs (the feature matrix, numeric dict inputs, ``sample_weight``) use the
  generator's ``dtype`` ("float32" by default, or "float64"). Every numeric column type
  converts by rounding to the nearest representable value (decimals through their
  nearest float64); nulls become NaN. Nothing
  depends on the values, so a conversion can never fail in the middle of an epoch.
  Integers beyond 2**24 (float32) or 2**53 (float64) round: with float32, integer columns
  that may hold such values are announced by a warning when the generator is built.
* Labels keep every value of their column type: bool and integers up to 32 bits ->
  int32, int64 and uint32 -> int64, uint64 -> uint64, float16/float32 -> float32,
  float64 and decimal -> float64 (a decimal becomes its nearest double). With
  ``num_classes`` the label must hold integer classes in [0, num_classes) and becomes
  a one-hot float32 matrix. A null label is an error.
* Lineage columns (``_source_id``, ``_source_row``) are read as int64.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.errors import ColumnError, ManifestError, ShardError
from datagen.contract.format import is_text

FLOAT_DTYPES = {"float32": pa.float32(), "float64": pa.float64()}
MANTISSA_BITS = {"float32": 24, "float64": 53}
INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
FLOAT_TYPES = ("halffloat", "float", "double")
_DECIMAL = re.compile(r"^decimal(128|256)\((\d+),\s*(-?\d+)\)$")
_INVALID = object()
NON_FINITE = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf,
               "+infinity": math.inf, "-infinity": -math.inf}


def is_numeric(type_name: str) -> bool:
    return type_name == "bool" or type_name in INT_BITS or type_name in FLOAT_TYPES or bool(_DECIMAL.match(type_name))


def arrow_type(type_name: str) -> pa.DataType | None:
    """The Arrow type a manifest type name stands for (numeric and text types; None otherwise)."""
    m = _DECIMAL.match(type_name)
    if m:
        make = pa.decimal128 if m.group(1) == "128" else pa.decimal256
        return make(int(m.group(2)), int(m.group(3)))
    if is_numeric(type_name) or is_text(type_name):
        return pa.type_for_alias(type_name)
    return None


def inexact_integer_columns(types: dict[str, str], columns: list[str], dtype: str) -> list[str]:
    """Integer columns whose values may not all be exact in ``dtype`` (schema only)."""
    return [c for c in dict.fromkeys(columns)
            if INT_BITS.get(types[c], 0) - (0 if types[c].startswith("u") else 1) > MANTISSA_BITS[dtype]]


def label_dtype(type_name: str) -> pa.DataType:
    """The output type of a label column (without num_classes): one that holds every value."""
    if type_name == "bool" or INT_BITS.get(type_name, 64) < 32 or type_name == "int32":
        return pa.int32()
    if type_name in ("int64", "uint32"):
        return pa.int64()
    if type_name == "uint64":
        return pa.uint64()
    if type_name in ("halffloat", "float"):
        return pa.float32()
    return pa.float64()  # double, decimal


def group_value(value: Any, type_name: str, column: str, shard: str) -> Any:
    """A manifest group value checked against its column type; numeric columns give a number or None
    (the strings "NaN" / "inf" / "-inf" stand for those floats in a float column)."""
    if value is None or not is_numeric(type_name):
        return value
    out: Any = _INVALID
    if type_name == "bool":
        out = value if isinstance(value, bool) else _INVALID
    elif isinstance(value, bool):
        pass
    elif type_name in INT_BITS:
        out = value if isinstance(value, int) else _INVALID
    elif type_name in FLOAT_TYPES:
        if isinstance(value, str) and value.strip().lower() in NON_FINITE:
            out = NON_FINITE[value.strip().lower()]
        elif isinstance(value, (int, float)):
            out = float(value)
    elif isinstance(value, (int, float, str)):  # decimal
        try:
            number = decimal.Decimal(str(value))
            out = number if number.is_finite() else _INVALID
        except decimal.InvalidOperation:
            pass
    if out is not _INVALID:
        try:
            pa.scalar(out, type=arrow_type(type_name))  # in range and precision for the type
            return out
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            pass
    raise ManifestError(f"shard {shard!r}: group value {value!r} of column {column!r} is not a valid {type_name} value")


def group_array(value: Any, rows: int, type_name: str) -> pa.Array:
    """``rows`` copies of a (normalised) group value, as an Arrow array of the column's type."""
    kind = arrow_type(type_name)
    if kind is None:
        return pa.array(np.full(rows, value, dtype=object))
    return pa.repeat(pa.scalar(value, type=kind), rows)


def single_array(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``col`` as one Arrow array: a column of one chunk (a row group as read) is that chunk itself,
    sharing its buffers (``combine_chunks`` copies even a single chunk: about 5 ns a row for 16 float
    columns); several chunks are joined."""
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


def decimal_to_float64(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each decimal as its nearest float64 (Arrow's own cast can be one unit in the last place off).
    Up to 15 digits with a scale of 0..22 this is one exact integer division by an exact power of
    ten, which IEEE arithmetic rounds correctly; beyond that Python's Decimal does it."""
    col = single_array(col)
    kind = col.type
    if pa.types.is_decimal128(kind) and kind.precision <= 15 and 0 <= kind.scale <= 22:
        data = np.frombuffer(col.buffers()[1], dtype=np.int64)[2 * col.offset:2 * (col.offset + len(col)):2]
        values = data.astype(np.float64) / float(10 ** kind.scale)  # both exact: |unscaled| < 2**53
        mask = None if not col.null_count else np.asarray(col.is_null())
        return pa.array(values, type=pa.float64(), mask=mask)
    return pa.array([None if v is None else float(v) for v in col.to_pylist()], type=pa.float64())


def float_matrix(columns: list[pa.Array | pa.ChunkedArray], dtype: str, out: np.ndarray | None = None) -> np.ndarray:
    """A row-major (rows, len(columns)) matrix of ``dtype``; rounds to nearest, nulls -> NaN. Written into
    ``out`` when given (a slice of a decoded window: no separate join of row groups), in one numpy pass
    over the columns' own buffers (about 1.5x faster than Arrow's ``to_tensor``)."""
    target = FLOAT_DTYPES[dtype]
    arrays = []
    for col in columns:
        if col.type == target and isinstance(col, pa.ChunkedArray):  # already the output type: no copy,
            arrays.append(col.to_numpy())  # no cast (ChunkedArray.to_numpy: nulls -> NaN; ~10x less per call)
            continue
        col = single_array(col)
        if pa.types.is_decimal(col.type):
            col = decimal_to_float64(col)
        col = col if col.type == target else pc.cast(col, target, safe=False)
        arrays.append(col.to_numpy(zero_copy_only=False))  # a float array: nulls become NaN
    rows = len(arrays[0]) if arrays else 0
    if out is None:
        out = np.empty((rows, len(arrays)), dtype=dtype)
    np.stack(arrays, axis=1, out=out)
    return out


def label_array(col: pa.Array | pa.ChunkedArray, type_name: str, num_classes: int | None, name: str,
                where: str) -> np.ndarray:
    """Labels as numpy (class indices as int64 when ``num_classes`` is set); see the module rules."""
    if col.null_count:
        raise ColumnError(f"label column {name!r} has {col.null_count} null values ({where})")
    if num_classes is None:
        target = label_dtype(type_name)
        if pa.types.is_integer(col.type) and pa.types.is_integer(target):  # widening (label_dtype holds every
            return np.asarray(col.to_numpy()).astype(target.to_pandas_dtype(), copy=False)  # value): numpy, exact
        out = decimal_to_float64(col) if pa.types.is_decimal(col.type) else \
            col if col.type == target else pc.cast(col, target)
        return np.asarray(out.to_numpy())
    if pa.types.is_boolean(col.type) or pa.types.is_integer(col.type):
        values = pc.cast(col, pa.int64(), safe=False) if col.type != pa.uint64() else col
        lo, hi = pc.min_max(values).values()
        lo, hi = lo.as_py(), hi.as_py()
        if 0 <= lo and hi < num_classes:
            out = values.to_numpy() if isinstance(values, pa.Array) else values.to_numpy()
            return np.asarray(out, dtype=np.int64)
        bad = lo if lo < 0 else hi
    else:
        floats = decimal_to_float64(col) if pa.types.is_decimal(col.type) else pc.cast(col, pa.float64())
        values = np.asarray(floats.to_numpy() if isinstance(floats, pa.Array) else floats.to_numpy())
        ok = (values >= 0) & (values < num_classes) & (np.floor(values) == values)
        if ok.all():
            return values.astype(np.int64)
        bad = values[~ok][0].item()
    raise ColumnError(f"label column {name!r} has value {bad!r}, expected an integer class in [0, {num_classes}) "
                      f"for num_classes={num_classes} ({where})")


def lineage_int64(col: pa.Array | pa.ChunkedArray, name: str, where: str) -> np.ndarray:
    """A lineage column as int64 numpy (never through a float)."""
    if not (pa.types.is_integer(col.type)) or col.null_count:
        raise ShardError(f"lineage column {name!r} in {where} has type {col.type} with {col.null_count} nulls; "
                          "expected integers without nulls")
    try:
        out = col if col.type == pa.int64() else pc.cast(col, pa.int64())
    except pa.ArrowInvalid:
        raise ShardError(f"lineage column {name!r} in {where} holds values beyond int64") from None
    return np.asarray(out.to_numpy() if isinstance(out, pa.Array) else out.to_numpy(), dtype=np.int64)


def one_hot(classes: np.ndarray, num_classes: int) -> np.ndarray:
    """(rows, num_classes) float32 one-hot rows (never a num_classes x num_classes identity)."""
    out = np.zeros((len(classes), num_classes), dtype=np.float32)
    out[np.arange(len(classes)), classes] = 1.0
    return out


def check_label_counts(counts: dict, num_classes: int | None, name: str, where: str) -> None:
    """Refuse, from a shard's label counts in the manifest, null labels and labels outside num_classes."""
    for key, rows in counts.items():
        rows = f"{rows:,}" if isinstance(rows, int) else repr(rows)
        if key == "null":
            raise ColumnError(f"label column {name!r} has {rows} null values ({where}); every row needs a label")
        if num_classes is None:
            continue
        value = {"true": decimal.Decimal(1), "false": decimal.Decimal(0)}.get(str(key))
        if value is None:
            try:
                value = decimal.Decimal(str(key))
            except decimal.InvalidOperation:
                value = None
        if value is None or not value.is_finite() or value != value.to_integral_value() \
                or not 0 <= value < num_classes:
            raise ColumnError(f"label column {name!r} has value {key} ({rows} rows, {where}), expected an integer "
                              f"class in [0, {num_classes}) for num_classes={num_classes}")
