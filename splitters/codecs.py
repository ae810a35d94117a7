"""Choosing the Parquet codec per column by measurement.

``--compression`` names the codec; a column that the codec cannot shrink by at
least ``min_saving`` (default 15%) on a fixed sample (the first 16,384 rows of the first source) is
stored uncompressed instead: compressing incompressible data (e.g. random
float features) costs write and read time and saves nothing. The sample is
fixed, so the choice (and the shard bytes) depend only on the inputs and the
config. The manifest records the codec of every column under ``codecs``."""

from __future__ import annotations

import pyarrow as pa

from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN

from .csvread import csv_reader
from .sources import SourceFile, open_binary, parquet_file

SAMPLE_ROWS = 16_384


def _sample(src: SourceFile, schema: pa.Schema, encoding: str | None) -> pa.Table:
    if src.format == "parquet":
        with parquet_file(src.url) as pf:
            for batch in pf.iter_batches(batch_size=SAMPLE_ROWS, columns=schema.names):
                return pa.Table.from_batches([batch])
        return schema.empty_table()
    with open_binary(src.url) as fh:
        reader = csv_reader(fh, src.url, {f.name: f.type for f in schema}, block_size=1 << 20, encoding=encoding)
        for batch in reader:
            return pa.Table.from_batches([batch]).slice(0, SAMPLE_ROWS)
    return schema.empty_table()


def _ratio(column: pa.ChunkedArray, codec: str) -> float:
    raw = packed = 0
    for chunk in column.chunks:
        for buf in chunk.buffers():
            if buf is None or buf.size == 0:
                continue
            raw += buf.size
            packed += pa.compress(buf, codec=codec, asbytes=False).size
    return packed / raw if raw else 0.0


def choose_codecs(first_source: SourceFile, schema: pa.Schema, codec: str, always: tuple[str, ...],
                  min_saving: float, encoding: str | None = None) -> dict[str, str]:
    """Column -> Parquet codec for the stored columns ``schema``."""
    names = [n for n in schema.names if n not in (SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN)]
    if codec == "none":
        return {n: "none" for n in schema.names}
    if min_saving <= 0:
        return {n: codec for n in schema.names}
    sample = _sample(first_source, pa.schema([schema.field(n) for n in names]), encoding)
    chosen = {}
    for name in schema.names:
        if name in always or name not in sample.column_names or sample.num_rows == 0:
            chosen[name] = codec
        else:
            chosen[name] = codec if _ratio(sample.column(name), codec) <= 1 - min_saving else "none"
    return chosen
