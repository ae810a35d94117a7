"""``--append``: each new input is read with the dataset's column types, so an ordinary next day
is not refused for a type its values fit (whole seconds into a ms column, whole numbers into a
double column, a blank or all-NA column, a categorical, an all-None Parquet column).

- CSV: every column (the time column aside: append_conform.py) is read with the dataset's type
  (numbers as each block holds them, then cast safely by ``sources.conform``, as a split reads
  them). A value that does not parse as, or fit, that type is refused at staging in one line
  naming the file, the column and the value (csvread.py). A block the first pass read as text
  (words, or hexadecimal, which Arrow's integer parser would take) is parsed as floats for an
  integer column (csvtypes.read_types), so its first non-number is refused by value. Decimal text
  is parsed as decimals.
- Parquet: a column is read as the dataset's type when the cast loses no value, Arrow's safe
  cast checking every value at staging: null -> any type; decimal or integer -> decimal (a value
  the stored precision or scale cannot hold is refused); list/large_list and struct -> the stored
  list/struct when their elements/fields cast by these rules; dictionary<T> -> T, then as T;
  integer -> integer or float, float -> integer (whole values only: an integer column never
  becomes float, a value with a fraction is refused), float32 -> float64; string <->
  large_string; timestamp -> another unit (a finer one checked value by value) or another zone
  when both have one (the same instants); date32 <-> date64. Anything else is refused here,
  naming the file, the column and both types.
- A plain group column is compared by its values' type, so a dataset whose manifest holds a
  dictionary type (a split before categoricals were normalised) still takes string or
  categorical days alike.
float64 into a ``--compact`` float32 column is left to append_rules.py (its range is checked).
The dataset's types never change.
"""

from __future__ import annotations

import pyarrow as pa

from datagen.contract.errors import SchemaError
from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN, Manifest, is_text, value_type_name

from .append_conform import stored_type
from .columns import check_columns
from .csvexact import check_exact
from .csvplan import csv_units, scan_csv_input
from .sources import SourceFile, read_schema
from .unify import unified_schema

def dataset_types(old: Manifest) -> dict[str, str]:
    """Column -> the dataset's type name: the shard columns (less lineage), the plain group columns."""
    stored = {c.name: c.type for c in old.schema if c.name not in (SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN)}
    return {**stored, **{g.name: value_type_name(g.type) for g in old.group_columns if g.derived_from is None}}


def _number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _narrow_float(t: pa.DataType) -> bool:
    return pa.types.is_floating(t) and t.bit_width < 64


def read_type(have: pa.DataType, target: pa.DataType | None, csv: bool) -> pa.DataType | None:
    """The type a column of type ``have`` is read as to be stored as ``target`` (None: unknown to
    this rule, read as it is); None when no cast can keep every value."""
    if target is None or have == target:
        return have
    if pa.types.is_decimal(target):                   # the reader parses decimal text; casts check every value
        return target if csv or pa.types.is_null(have) or pa.types.is_decimal(have) or pa.types.is_integer(have) \
            else None
    if _is_list(target) and _is_list(have):           # pandas' list<string> into Polars' large_list<large_string>
        return target if read_type(have.value_type, target.value_type, csv) == target.value_type else None
    if pa.types.is_struct(target) and pa.types.is_struct(have):
        same = [f.name for f in have] == [f.name for f in target]
        return target if same and all(read_type(h.type, t.type, csv) == t.type for h, t in zip(have, target)) \
            else None
    if pa.types.is_nested(target) or pa.types.is_dictionary(target):
        return have                                   # left to append_rules (equal names or refused)
    if _narrow_float(target):                         # a --compact float32 column: range-checked there
        return pa.float64() if _number(have) or pa.types.is_null(have) else have
    if csv:
        return target                                 # the reader parses the text as the dataset's type
    if pa.types.is_null(have):
        return target
    if pa.types.is_dictionary(have):
        have = have.value_type
        if have == target:
            return target
    if _number(have) and _number(target):
        return have if _narrow_float(target) else target
    if (is_text(have) and is_text(target)) or ({have, target} <= {pa.binary(), pa.large_binary()}):
        return target
    if pa.types.is_timestamp(have) and pa.types.is_timestamp(target):
        return target if (have.tz is None) == (target.tz is None) else None
    if pa.types.is_date(have) and pa.types.is_date(target):
        return target
    return None


def conform_source(src: SourceFile, schema: pa.Schema, wanted: dict[str, str], time_column: str | None,
                   out: str) -> pa.Schema:
    """``schema`` (one new input's) with each column typed as it is read to fit the dataset."""
    fields = []
    for f in schema:
        want = wanted.get(f.name)
        if want is None or f.name == time_column:
            fields.append(f)
            continue
        t = read_type(f.type, stored_type(want), src.format == "csv")
        if t is None:
            raise SchemaError(f"--append: column {f.name!r} of {src.url!r} is {f.type} but {want} in the dataset in "
                              f"{out!r}, and no cast keeps every value; convert the input to {want} or split into "
                              "a new --out")
        fields.append(pa.field(f.name, t))
    return pa.schema(fields, metadata=schema.metadata)


def append_input_schema(cfg, engine, sources: list[SourceFile], old: Manifest, out: str) -> tuple[pa.Schema, dict]:
    """``split.input_schema`` for an append: (the new inputs' read schema, each conformed to the
    dataset's types before the files are unified; the CSV blocks to stage)."""
    csv_schemas, csv_blocks = scan_csv_input(engine, sources, cfg.blocksize, cfg.encoding, cfg.time_column,
                                             cfg.csv_time_unit)
    parquet = [s for s in sources if s.format == "parquet"]
    parquet_schemas = dict(zip((s.id for s in parquet), engine.map(read_schema, parquet, desc="schemas")))
    wanted = dataset_types(old)
    schemas = [conform_source(s, csv_schemas[s.id] if s.id in csv_schemas else parquet_schemas[s.id], wanted,
                              cfg.time_column, out) for s in sources]
    schema = unified_schema(sources, schemas)
    check_columns(cfg, schema, sources)
    check_exact(schema, [pair for pairs in csv_blocks.values() for pair in pairs], cfg.time_column)
    return schema, csv_units(csv_blocks, schema)
