"""Stage step, last part of a batch: the staged table and its file. Plain group columns are
dropped (their values go in the shard paths), the source row and (unless the time column
already holds it) the time in ticks are appended, repetitive text is dictionary-encoded, rows
are ordered by group, and the table is written to an Arrow IPC file with one record batch per
group, so the reduce step reads exactly one group's bytes. The lineage source id, the same
for every row of a staged file, is stored once, in the file's schema metadata, and so is the
batch's first source row: the rows are staged as uint32 offsets from it (``staged_layout``
says where a staged file's parts sit). Value ranges are measured here for --compact. Past what the
page cache holds without writing back, a local run's staged files are written directly instead, in
the layout of staged_direct.py (staged_writes.py decides)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.format import SOURCE_ROW_COLUMN

from datagen.contract.format import is_text

from .gather import gather_rows
from .missing_times import MISSING_TIME
from .oserrors import STAGED_READ_ERRORS, staged_read_error
from .stage_memory import store_for
from .staged_writes import writer_for

if TYPE_CHECKING:
    from .stage import StageContext

TIME_NS_COLUMN = "__time_ns"
SOURCE_ID_KEY = b"datagen.source_id"
FIRST_ROW_KEY = b"datagen.first_row"   # source rows are staged as offsets from it (uint32)
STAGED_WRITE_BUFFER = 1 << 20


@dataclass
class StagedFile:
    path: str
    rows: int
    groups: list[tuple[tuple, object, int]]   # (group key, record batch index or staged_direct.Part, rows)


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
    """The batch as staged, in group ``order``: stored columns, then the source row, then the
    time in ticks when the time column does not hold them (always last: the reduce step takes it
    by position); the lineage source id in the schema metadata."""
    plain = [g for g in ctx.group_by if g not in ctx.derived]
    if plain:
        table = table.drop_columns(plain)
    table = encode_text(table)
    if not (len(order) and bool((order[1:] > order[:-1]).all())):   # not already in group order
        table, rows = gather_rows(table, order), rows[order]   # gather.py: contiguous, then taken
        ns = None if ns is None else ns[order]
    # the source row is appended after the gather (numpy gathers it directly); the source id is not a
    # column at all but the file's metadata (the reduce step rebuilds the column)
    first = int(rows.min()) if len(rows) else 0
    narrow = len(rows) == 0 or int(rows.max()) - first <= np.iinfo(np.uint32).max
    table = table.append_column(SOURCE_ROW_COLUMN, pa.array((rows - first).astype(np.uint32) if narrow else rows))
    if ns is not None and not (ctx.time_column in table.column_names and
                               time_in_column(table.column(ctx.time_column), ns)):
        table = table.append_column(time_ns_name(table.column_names), pa.array(ns))
    # no time column, or the time column holds the ticks: nothing appended (the reduce step knows)
    return table.replace_schema_metadata({SOURCE_ID_KEY: str(source_id), FIRST_ROW_KEY: str(first if narrow else 0)})


def time_in_column(column: pa.ChunkedArray, ns: np.ndarray) -> bool:
    """Whether the staged time column already holds the ticks ``ns`` exactly (a timestamp of the
    split's resolution; a missing time, null in the column, is MISSING_TIME in ``ns``): then they
    are not staged twice, and the reduce step reads them back with ``ticks_of``."""
    return pa.types.is_timestamp(column.type) and bool(np.array_equal(ticks_of(column), ns))


def ticks_of(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A staged timestamp column as int64 ticks, MISSING_TIME where it is null (see time_in_column)."""
    # a view, not a cast: the same bytes read as int64, no copy
    values = column.view(pa.int64()) if isinstance(column, pa.Array) else \
        pa.chunked_array([c.view(pa.int64()) for c in column.chunks], pa.int64())
    if values.null_count:
        values = values.fill_null(MISSING_TIME)
    return np.asarray(values.to_numpy())


@dataclass(frozen=True)
class StagedLayout:
    """Where a staged file's parts sit, the same for every record batch of the file (read once per
    file from its schema): the stored columns, the source rows (uint32 offsets from ``first_row``),
    the ticks (a staged column, or the time column itself, or none) and the lineage source id."""
    stored: tuple[int, ...]
    rows: int
    ticks: int | None
    ticks_staged: bool
    source_id: int
    first_row: int


def staged_layout(schema: pa.Schema, time_column: str | None) -> StagedLayout:
    """The layout of a staged file (or kept batch) of ``schema``; see the module docstring."""
    meta, last = schema.metadata, len(schema) - 1
    ticks, staged_ticks = None, False
    if time_column is not None:   # staged last, or the time column itself
        staged_ticks = schema.names[last] != SOURCE_ROW_COLUMN
        ticks = last if staged_ticks else schema.get_field_index(time_column)
        last -= staged_ticks
    return StagedLayout(tuple(range(last)), last, ticks, staged_ticks, int(meta[SOURCE_ID_KEY]),
                        int(meta[FIRST_ROW_KEY]))


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
    store = store_for(path)
    if store is not None and batch is not None:   # kept in memory, within the budget (stage_memory.py)
        offsets = np.concatenate([[0], np.cumsum(counts)]).tolist()
        if store.keep(path, batch, [(offsets[i], int(c)) for i, c in enumerate(counts.tolist())]):
            return StagedFile(path, table.num_rows, [(key, i, int(c)) for i, (key, c) in enumerate(zip(keys, counts.tolist()))])
    groups, offset = [], 0
    try:
        direct = writer_for(path) if batch is not None and "://" not in path else None
        if direct is not None and direct.goes_direct(batch.nbytes):   # past the page cache (staged_writes.py)
            return StagedFile(path, table.num_rows, direct.write(batch, keys, counts.tolist(), path))
        with staged_sink(path) as sink, pa.ipc.new_file(sink, table.schema) as writer:
            for index, (key, count) in enumerate(zip(keys, counts.tolist())):
                writer.write_batch(batch.slice(offset, count))
                groups.append((key, index, count))
                offset += count
    except OSError as exc:   # Arrow's write errors name no file: name the staged file (the output's fault)
        if getattr(exc, "filename", None) is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc).splitlines()[0], path) from None
    except Exception as exc:   # a bucket's own errors (no credentials on a worker, access denied): one line
        if "://" not in path:
            raise
        from datagen.contract.storage import storage_error

        raise storage_error(exc, path, "staging") from None
    return StagedFile(path, table.num_rows, groups)


def staged_sink(path: str):
    """A writable file for a staged file: local (a buffered ``pa.OSFile``), or an object (staging in a
    bucket)."""
    if "://" not in path:
        # buffered: a staged file is written as hundreds of small buffers (columns x groups), and a system
        # call for each cost twice the CPU time of the copies themselves (measured on 1M-row batches)
        return pa.BufferedOutputStream(pa.OSFile(path, "wb"), buffer_size=STAGED_WRITE_BUFFER)
    from datagen.contract.storage import open_url

    return open_url(path, "wb", auto_mkdir=False)  # an object store needs no directory; never make a bucket


def staged_source(path: str, mapped: bool = False):
    """A random-access readable file for a staged file (see ``staged_sink``); ``mapped``: a
    local file is memory-mapped, so its record batches are read without a copy."""
    if "://" not in path:
        return pa.memory_map(path, "r") if mapped else pa.OSFile(path, "rb")
    from datagen.contract.storage import url_fs

    fs, inner = url_fs(path)
    return fs.open(inner, "rb", block_size=1 << 20, cache_type="bytes")


def staged_batch(readers: dict, path: str, batch_index: int) -> pa.RecordBatch:
    """Batch ``batch_index`` of the ordinary staged file ``path`` (its reader opened once per task)."""
    try:
        if path not in readers:
            readers[path] = pa.ipc.open_file(staged_source(path, mapped=True))
        return readers[path].get_batch(batch_index)
    except STAGED_READ_ERRORS as exc:
        if "://" in path:   # staged in a bucket: the storage errors' mapping reports it (remote_split.py)
            raise
        raise staged_read_error(exc, path) from None
