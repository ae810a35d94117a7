"""``--append``: conform the new inputs' unified schema to the dataset's, before anything is staged.

- Column order never matters: the columns are read in the dataset's order (the shard columns,
  then the plain group columns), so the new shards have the dataset's column order.
- The time column is stored as the dataset stores it where that is exact: a timestamp of another
  zone (the instant is kept; a zone-less time is read as UTC, as a split reads it) or of a coarser
  unit, or a date, is cast to the stored type; a finer unit (ns into us) is checked value by value
  (the time column of each Parquet input is read) and refused when a time has digits the stored
  unit cannot hold. Text or numbers (CSV) are parsed as a split parses them and the parsed time is
  cast to the stored type; into a coarser stored unit (s, ms) a time with digits below it is a bad time at
  staging (named with its file and row, or dropped with --on-bad-time drop), never truncated. Into a date
  time column, text is parsed the same way and each date is stored as itself; a time of day is a bad time.
Every refusal names the column and both types, and happens before staging.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datagen.contract.errors import SchemaError
from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN, Manifest, is_text

from .sources import SourceFile

_TS = re.compile(r"timestamp\[(s|ms|us|ns)(?:, tz=(.+))?\]$")
_ORDER = {"s": 0, "ms": 1, "us": 2, "ns": 3}


_DECIMAL = re.compile(r"decimal(128|256)\((\d+), (-?\d+)\)$")
_LIST = re.compile(r"(large_)?list<([^:<>]+): (.+)>$")


def stored_type(name: str) -> pa.DataType | None:
    """The Arrow type of a manifest type name (timestamps with a zone, decimals and lists of such
    types included), or None."""
    m = _TS.match(name)
    if m:
        return pa.timestamp(m.group(1), m.group(2))
    m = _DECIMAL.match(name)
    if m:
        make = pa.decimal128 if m.group(1) == "128" else pa.decimal256
        return make(int(m.group(2)), int(m.group(3)))
    m = _LIST.match(name)
    if m:
        value = stored_type(m.group(3))
        if value is None:
            return None
        field = pa.field(m.group(2), value)
        return pa.large_list(field) if m.group(1) else pa.list_(field)
    try:
        return pa.type_for_alias(name)
    except (ValueError, KeyError):
        return None


def _refuse(column: str, new: pa.DataType, stored: str, out: str, why: str = "") -> SchemaError:
    return SchemaError(f"--append: column {column!r} is {new} in the input but {stored} in the dataset in {out!r}"
                       f"{why}; convert the input to {stored} or split into a new --out")


def _check_finer(column: str, new: pa.DataType, stored: str, target: pa.DataType, sources: list[SourceFile],
                 out: str) -> None:
    """Every time of every Parquet input fits ``target``'s unit exactly (the time column only is read)."""
    for src in sources:
        if src.format != "parquet":
            continue
        col = pq.read_table(src.url, columns=[column]).column(0)
        if not pa.types.is_timestamp(col.type) or _ORDER[col.type.unit] <= _ORDER[target.unit]:
            continue
        ticks = col.combine_chunks().view(pa.int64()).to_numpy(zero_copy_only=False)
        valid = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool)
        local = 10 ** (3 * (_ORDER[col.type.unit] - _ORDER[target.unit]))
        bad = np.flatnonzero(valid & (ticks % local != 0))
        if len(bad):
            raise _refuse(column, new, stored, out, f", and row {int(bad[0])} of {src.url!r} holds a time finer than "
                                                    f"{target.unit} ({col[int(bad[0])]})")


def conform_schema(old: Manifest, time_column: str | None, schema: pa.Schema,
                   sources: list[SourceFile], out: str) -> tuple[pa.Schema, tuple[str, str] | None]:
    """(``schema`` in the dataset's column order with the time column as stored where the stage
    step can cast it, the (column, type) cast of a parsed text time at write time or None)."""
    shard_cols = [c.name for c in old.schema if c.name not in (SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN)]
    order = [n for n in shard_cols if n in schema.names] + [n for n in schema.names if n not in shard_cols]
    schema = pa.schema([schema.field(n) for n in order], metadata=schema.metadata)
    if time_column is None or time_column not in schema.names or time_column not in shard_cols:
        return schema, None
    stored = next(c.type for c in old.schema if c.name == time_column)
    new = schema.field(time_column).type
    if str(new) == stored:
        return schema, None
    target = stored_type(stored)
    if target == pa.date32() and is_text(new):   # dates of a CSV day: the stage step writes each as itself
        return schema, None
    if target is None or not pa.types.is_timestamp(target):
        raise _refuse(time_column, new, stored, out)
    if pa.types.is_timestamp(new) or pa.types.is_date(new):
        if pa.types.is_timestamp(new) and _ORDER[new.unit] > _ORDER[target.unit]:
            _check_finer(time_column, new, stored, target, sources, out)
        i = schema.get_field_index(time_column)
        return schema.set(i, pa.field(time_column, target)), None
    # text or numbers: the stage step writes them at us (or ns); a time with digits below a coarser stored unit
    # is a bad time there (StageContext.keep_unit), so the cast at write time keeps every value
    return schema, (time_column, stored)
