"""Stage step, last part of a batch: the staged table and its file. Plain group columns are
dropped (their values go in the shard paths), the lineage columns and the time in ns are
appended, repetitive text is dictionary-encoded, rows are ordered by group, and the table
is written to an Arrow IPC file with one record batch per group, so the reduce step reads
exactly one group's bytes. Value ranges are measured here for --compact."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN

from datagen.contract.format import is_text

if TYPE_CHECKING:
    from .stage import StageContext

TIME_NS_COLUMN = "__time_ns"


@dataclass
class StagedFile:
    path: str
    rows: int
    groups: list[tuple[tuple, int, int]]   # (group key, record batch index, rows)


def time_ns_name(names: list[str]) -> str:
    """The staged column holding the time in ns: ``__time_ns``, lengthened until no input
    column has that name."""
    name = TIME_NS_COLUMN
    while name in names:
        name += "_"
    return name


def encode_text(table: pa.Table) -> pa.Table:
    """Dictionary-encode repetitive text columns: moving indices is far cheaper than moving
    strings. The reduce step decodes them again, so shard bytes do not depend on batching."""
    for i, f in enumerate(table.schema):
        if is_text(f.type):
            encoded = pc.dictionary_encode(table.column(i))
            if len(encoded.chunk(0).dictionary) * 2 < max(1, table.num_rows):
                table = table.set_column(i, f.name, encoded)
    return table


def staged_table(table: pa.Table, ns: np.ndarray | None, rows: np.ndarray, source_id: int, order: np.ndarray,
                 ctx: StageContext) -> pa.Table:
    """The batch as staged, in group ``order``: stored columns, then the lineage columns,
    then the time in ns, always last (the reduce step takes it by position)."""
    plain = [g for g in ctx.group_by if g not in ctx.derived]
    if plain:
        table = table.drop_columns(plain)
    table = encode_text(table)
    if not (len(order) and bool((order[1:] > order[:-1]).all())):   # not already in group order
        # ``order`` is a permutation of the rows: no bounds check (it doubles a chunked gather's cost)
        table, rows = pc.take(table, pa.array(order), boundscheck=False), rows[order]
        ns = None if ns is None else ns[order]
    # the lineage columns are appended after the gather: a constant column needs none, and numpy
    # gathers the two integer columns directly
    table = table.append_column(SOURCE_ID_COLUMN, pa.array(np.full(len(rows), source_id, np.int32)))
    table = table.append_column(SOURCE_ROW_COLUMN, pa.array(rows))
    if ns is not None:  # no time column: nothing appended (the reduce step knows from its context)
        table = table.append_column(time_ns_name(table.column_names), pa.array(ns))
    return table


def track_ranges(table: pa.Table, names: tuple[str, ...], ranges: dict[str, tuple]) -> None:
    """Widen ``ranges`` (min, max) by this batch, for --compact: integers over all values,
    floats over their finite values ((inf, -inf) when a float column holds none)."""
    for name in names:
        i = table.schema.get_field_index(name)
        if i < 0:
            continue
        col = table.column(i)
        if pa.types.is_floating(col.type):
            col = pc.filter(col, pc.is_finite(col))
            mm = pc.min_max(col).as_py()
            found = (math.inf, -math.inf) if mm["min"] is None else (mm["min"], mm["max"])
        else:
            mm = pc.min_max(col).as_py()
            if mm["min"] is None:
                continue
            found = (mm["min"], mm["max"])
        lo, hi = ranges.get(name, found)
        ranges[name] = (min(lo, found[0]), max(hi, found[1]))


def write_staged(table: pa.Table, keys: list[tuple], counts: np.ndarray, path: str) -> StagedFile:
    """Write ``table`` (ordered by group) to ``path``, one record batch per group."""
    batch = table.combine_chunks().to_batches()[0] if table.num_rows else None
    groups, offset = [], 0
    with staged_sink(path) as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for index, (key, count) in enumerate(zip(keys, counts.tolist())):
            writer.write_batch(batch.slice(offset, count))
            groups.append((key, index, count))
            offset += count
    return StagedFile(path, table.num_rows, groups)


def staged_sink(path: str):
    """A writable file for a staged file: local (``pa.OSFile``), or an object (staging in a bucket)."""
    if "://" not in path:
        return pa.OSFile(path, "wb")
    from datagen.contract.storage import open_url

    return open_url(path, "wb")


def staged_source(path: str, mapped: bool = False):
    """A random-access readable file for a staged file (see ``staged_sink``); ``mapped``: a
    local file is memory-mapped, so its record batches are read without a copy."""
    if "://" not in path:
        return pa.memory_map(path, "r") if mapped else pa.OSFile(path, "rb")
    from datagen.contract.storage import url_fs

    fs, inner = url_fs(path)
    return fs.open(inner, "rb", block_size=1 << 20, cache_type="bytes")
