"""Casting what a source was read as to the type the split (or the append) stores: safely, and
refusing in one line a value that would change, named as written where Arrow would name it in ticks
or as a rounded float."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def _check_whole(column: pa.ChunkedArray, name: str, have: pa.DataType, target: pa.DataType) -> None:
    """Floats read into an integer column: each must be a whole number that a float names exactly
    (from 2**53 on a float stands for several integers: ``9007199254740993.0`` reads as ...992)."""
    values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isnan(values) & ((np.abs(values) >= 2.0 ** 53) | (values != np.round(values))))
    if len(bad):
        v = float(values[int(bad[0])])
        why = "from 2**53 on a float cannot name an integer exactly" if abs(v) >= 2.0 ** 53 else "not a whole number"
        raise pa.ArrowInvalid(f"column {name!r} holds a value read as the float {v!r} ({why}) but its type is "
                              f"{target}, the type it is read as (common to all inputs; for --append, the dataset's; an "
                              "integer column never becomes float; a CSV column with a decimal point or an exponent "
                              "anywhere in a block is read as floats: write whole numbers without them)")


_UNIT_NS = {"s": 10 ** 9, "ms": 10 ** 6, "us": 10 ** 3, "ns": 1}


def _refuse_finer_time(column: pa.ChunkedArray, name: str, have: pa.DataType, target: pa.DataType) -> None:
    """A time with digits below ``target``'s unit, named as written (Arrow names it in ticks)."""
    ticks = column.combine_chunks().cast(pa.timestamp(have.unit)).view(pa.int64()).to_numpy(zero_copy_only=False)
    valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), bool)
    step = _UNIT_NS[target.unit] // _UNIT_NS[have.unit]
    bad = np.flatnonzero(valid & (ticks % step != 0)) if step > 1 else []
    if len(bad):
        raise pa.ArrowInvalid(f"column {name!r} holds {column[int(bad[0])]} with digits below the {target.unit} its "
                              f"type {target} keeps (the type it is read as; for --append, the dataset's)")


def _first_changed(column: pa.ChunkedArray, have: pa.DataType, target: pa.DataType) -> str | None:
    """The first value that does not survive ``have`` -> ``target`` -> ``have`` (a decimal losing digits, an
    integer out of range), as Arrow shows it; None when that cannot be told (the caller's message stands)."""
    import pyarrow.compute as pc

    try:
        col = column.combine_chunks()
        back = col.cast(target, safe=False).cast(have, safe=False)
        changed = pc.fill_null(pc.not_equal(col, back), False)
        first = pc.index(changed, True).as_py()
    except (pa.ArrowException, NotImplementedError, TypeError, ValueError):
        return None
    return None if first < 0 else str(col[first])


def _check_precision(column: pa.ChunkedArray, name: str, target: pa.DataType) -> None:
    """Every decimal fits ``target``'s precision: Arrow's CSV reader parses decimal text into the type
    without checking it (1234.5 into decimal128(5, 2) made an invalid shard)."""
    import decimal

    for chunk in column.chunks:
        try:
            chunk.validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        limit = decimal.Decimal(10) ** (target.precision - target.scale)
        bad = next((v for v in chunk.to_pylist() if v is not None and abs(v) >= limit), None)
        raise pa.ArrowInvalid(f"column {name!r} holds {bad} but its type is {target} (at most {target.precision} "
                              f"digits, {target.scale} after the point), the type it is read as (common to all "
                              "inputs; for --append, the dataset's)")


def conform(table: pa.Table, schema: pa.Schema, time_column: str | None) -> pa.Table:
    """``table`` (columns in ``schema`` order) with every column cast, safely, to the unified
    type: a value the type cannot hold raises ArrowInvalid. The time column is left as read
    (``parse_times`` turns any time type into ticks, see timescale.py)."""
    for i, f in enumerate(schema):
        have = table.schema.field(i).type
        if pa.types.is_decimal(f.type) and have == f.type:
            _check_precision(table.column(i), f.name, f.type)
        if f.name != time_column and have != f.type:
            if pa.types.is_floating(have) and pa.types.is_integer(f.type):
                _check_whole(table.column(i), f.name, have, f.type)
            try:
                table = table.set_column(i, f.name, table.column(i).cast(f.type, safe=True))
            except pa.ArrowInvalid as exc:
                if pa.types.is_timestamp(have) and pa.types.is_timestamp(f.type):
                    _refuse_finer_time(table.column(i), f.name, have, f.type)
                never = " (an integer column never becomes float)" if pa.types.is_integer(f.type) and pa.types.is_floating(have) else ""
                value = _first_changed(table.column(i), have, f.type)
                arrow = " ".join(str(exc).split())
                why = f"value {value} would change ({arrow})" if value is not None else arrow
                raise pa.ArrowInvalid(f"column {f.name!r} ({have}) does not fit {f.type}{never}, the type it is read as "
                                      f"(common to all inputs; for --append, the dataset's): {why}") from None
    return table
