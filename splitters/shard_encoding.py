"""How a shard's columns are laid out in Parquet: one rule for the split, ``--append`` and compact.

- Text columns are dictionary encoded (few distinct values per shard); booleans are bit-packed.
- Integer, date, time, timestamp and duration columns are ``DELTA_BINARY_PACKED``: the lineage row
  numbers, ids and the sorted time column become small deltas. Measured on 55k-row shards of the
  20M-row benchmark table (pyarrow 26): the whole shard encodes in about 20% less CPU than plain
  values through zstd, the file is about 5% smaller, and those columns decode in half the time.
  DuckDB, Polars and pyarrow read it (Parquet format 2).
- Other columns are plain; each column's codec comes from ``codecs`` (see codecs.py).
- Every page carries a CRC32 (readers verify it: a flipped byte is an error, not a value), and
  every column its statistics.

The rule depends only on the schema, so the same inputs and config give the same shard bytes."""

from __future__ import annotations

from typing import Mapping

import pyarrow as pa

from datagen.contract.format import is_text

DELTA = "DELTA_BINARY_PACKED"


def _delta(dtype: pa.DataType) -> bool:
    t = pa.types
    return t.is_integer(dtype) or t.is_date32(dtype) or t.is_time(dtype) or t.is_timestamp(dtype) \
        or t.is_duration(dtype)


def write_options(schema: pa.Schema, codecs: Mapping[str, str], row_group_size: int) -> dict:
    """Keyword arguments of ``pyarrow.parquet.write_table`` for a shard of ``schema``."""
    dictionary = [f.name for f in schema if is_text(f.type)]
    delta = {f.name: DELTA for f in schema if _delta(f.type)}
    return dict(compression={c: codecs.get(c, "zstd") for c in schema.names}, row_group_size=row_group_size,
                use_dictionary=dictionary, column_encoding=delta or None, write_statistics=True,
                write_page_checksum=True)
