"""No silent rounding of CSV integers: a column whose type is float64 (because it also holds
non-integers, or an integer beyond int64's range) may not hold an integer beyond 2**53, which
float64 cannot hold exactly (pandas would round it). The first pass records, per block, the
largest integer of each int64 column and the largest integer literal beyond 2**53 that Arrow read as a float (a float64 block); once
the column's type is known the split is refused, before anything is staged, naming the file,
the column and the value, whichever block held it (so the answer never depends on --blocksize)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from datagen.contract.errors import SourceError

EXACT = 2 ** 53
INT64_LO, INT64_HI = -(2 ** 63), 2 ** 63 - 1
_NOT_AFTER = np.frombuffer(b".", np.uint8)
_NOT_BEFORE = np.frombuffer(b".eE", np.uint8)


def _long_integer_literal(text: bytes) -> bool:
    """Whether ``text`` holds a run of 16 or more digits (2**53 has 16: a shorter integer always fits)
    that is not a fraction's digits (after a point) nor a mantissa (before a point or an exponent)."""
    a = np.frombuffer(text, np.uint8)
    edges = np.diff(((a >= 48) & (a <= 57)).view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long = stops - starts >= 16
    starts, stops = starts[long], stops[long]
    if not len(starts):
        return False
    before = np.where(starts > 0, a[np.maximum(starts - 1, 0)], 0)
    after = np.where(stops < len(a), a[np.minimum(stops, len(a) - 1)], 0)
    return bool((~np.isin(before, _NOT_AFTER) & ~np.isin(after, _NOT_BEFORE)).any())
_INT_LITERAL = r"^\s*[+-]?[0-9]{16,}\s*$"


def int_extremes(table: pa.Table) -> dict[str, int]:
    """Column -> the value of largest magnitude of each integer column of ``table``."""
    out = {}
    for f, col in zip(table.schema, table.columns):
        if pa.types.is_integer(f.type) and col.null_count < len(col):
            mm = pc.min_max(col).as_py()
            out[f.name] = mm["min"] if abs(mm["min"]) > abs(mm["max"]) else mm["max"]
    return out


def float_big_ints(table: pa.Table, reopen, options, text: bytes | None) -> dict[str, str]:
    """Column -> the integer literal of largest magnitude, when beyond 2**53, of each float64 column of ``table``;
    ``reopen()`` gives the same text again (``text``, when known, skips the re-read unless it holds
    16 digits in a row), ``options`` the (read, parse) options it was read with."""
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    if not floats or (text is not None and not _long_integer_literal(text)):
        return {}
    read, parse = options
    convert = pacsv.ConvertOptions(include_columns=floats, column_types={n: pa.string() for n in floats})
    with reopen() as fh:
        raw = pacsv.read_csv(fh, read_options=read, parse_options=parse, convert_options=convert)
    out = {}
    for name in floats:
        col = raw.column(name)
        literals = pc.filter(col, pc.fill_null(pc.match_substring_regex(col, _INT_LITERAL), False))
        big = max(literals.to_pylist(), key=lambda v: abs(int(v)), default=None)   # beyond int64 if any is
        if big is not None and abs(int(big)) > EXACT:
            out[name] = big.strip()
    return out


def _check_integer_range(url: str, name: str, value: int, target: pa.DataType) -> None:
    """An integer literal Arrow read as a float (beyond int64's range) in a column stored as an integer
    type (an append: the dataset's type): named as written, not as the rounded float a cast would show."""
    info = np.iinfo(target.to_pandas_dtype())
    if not int(info.min) <= value <= int(info.max):
        raise SourceError(f"input {url!r}: column {name!r} holds the integer {value}, beyond the range of {target} "
                          f"({int(info.min)} .. {int(info.max)}), the column's type (for --append, the dataset's); "
                          "drop or fix that value, or split into a new --out where the column is text")


def check_exact(schema: pa.Schema, blocks, time_column: str) -> None:
    """Refuse a float column holding an integer beyond 2**53; ``blocks``: [(block, info)] of all files.
    The time column is not cast (an int64 block stays int64), so only its float blocks count."""
    for block, info in blocks:
        ints = [(n, v) for n, v in info.int_extremes.items() if n != time_column]
        for name, value in list(info.float_big_ints.items()) + ints:
            field = schema.field(name) if name in schema.names else None
            # a str is a literal Arrow read as a float (float_big_ints), an int an int64 block's extreme
            if field is not None and pa.types.is_integer(field.type) and isinstance(value, str):
                _check_integer_range(block.url, name, int(value), field.type)
            if field is None or not pa.types.is_floating(field.type):
                continue
            if isinstance(value, int) and abs(value) <= EXACT:
                continue
            why = ("it is beyond int64's range (-2**63 .. 2**63-1)" if not INT64_LO <= int(value) <= INT64_HI
                   else "it also holds non-integers")
            raise SourceError(
                f"input {block.url!r}: column {name!r} holds the integer {value}, which does not fit double exactly "
                f"(double holds integers exactly only up to 2**53); the column is {field.type} because {why}; round "
                "or drop that value, or make the column text (a non-numeric value anywhere in it) to keep it exactly")
