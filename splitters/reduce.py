"""Reduce step: one task per batch of groups. For each group it gathers the
group's slices from every staged file (memory-mapped, zero-copy), orders the
rows by time then source order (missing times last; without a time column, by
source file and row), cuts them into parts of at most
``max_rows_per_shard`` rows and writes each part as one Parquet file in the
staging tree. It returns each shard's metadata and, per source, a bitmap of
the source rows it wrote, which the driver uses to prove row conservation."""

from __future__ import annotations

from contextlib import nullcontext

import hashlib
import os
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN, ShardEntry
from datagen.contract.nancount import with_nan_counts

from .append_conform import stored_type
from .directwrite import ShardWrites, write_file
from .gather import gather_pieces, time_sort
from .missing_times import time_range
from .shard_encoding import write_options
from .sharedmarks import SharedMarks, marks_for
from .stage_memory import store_for
from .staged_direct import DirectReads
from .staged_writes import writer_for
from .stage_write import StagedLayout, staged_batch, staged_layout, ticks_of


@dataclass(frozen=True)
class GroupJob:
    index: int                                   # position of the group in the global order
    rel_dir: str                                 # hive directory relative to the dataset
    group: dict                                  # group values, as stored in the manifest
    slices: tuple[tuple[str, int, int], ...]     # (staged file, record batch, rows), in source order


@dataclass(frozen=True)
class WriteContext:
    shard_root: str                  # where shards are written before they are moved into place
    compression: tuple[tuple[str, str], ...]   # (column, codec), see codecs.py
    row_group_size: int
    max_rows_per_shard: int | None
    casts: tuple[tuple[str, str], ...]   # (column, Arrow type name) applied by --compact
    label: str | None
    time_column: str | None          # None: no time column (shards in source order, no time range)
    source_rows: tuple[int, ...]     # rows read per source id, for the bitmaps
    time_resolution: str = "ns"      # of the staged time ticks: "us" or "ns" (timescale.py)
    upload_to: str | None = None     # an object-store --out: each shard is PUT there (content name) by its task
    source_id_offset: int = 0        # lineage ids = local source id + this (an append continues the numbering)
    part_start: tuple[tuple[str, int], ...] = ()   # (group dir, first part number): an append continues them


@dataclass
class ReduceResult:
    shards: list[tuple[int, ShardEntry]]  # (group index, shard), for the manifest's order
    written: dict[int, np.ndarray]       # source id -> packed bitmap of written rows
    counts: dict[int, int] = field(default_factory=dict)  # source id -> rows written (a duplicate makes it exceed the bitmap)


def _label_counts(column: pa.ChunkedArray) -> dict[str, int] | None:
    if pa.types.is_floating(column.type):
        return None
    counts = pc.value_counts(column)
    pairs = [(v["values"], v["counts"]) for v in counts.to_pylist()]
    pairs.sort(key=lambda p: (p[0] is None, type(p[0]).__name__, p[0] if p[0] is not None else 0))
    return {("null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)): int(c) for v, c in pairs}


def reduce_groups(jobs: list[GroupJob], ctx: WriteContext) -> ReduceResult:
    """Write the shards of ``jobs``; see the module docstring."""
    readers: dict[str, pa.ipc.RecordBatchFileReader] = {}
    layouts: dict[str, StagedLayout] = {}   # per staged file, read once from its schema
    marks: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    shards: list[tuple[int, ShardEntry]] = []
    casts = {name: stored_type(t) for name, t in ctx.casts}
    memory = store_for(jobs[0].slices[0][0]) if jobs and jobs[0].slices else None
    shared = marks_for(ctx.shard_root)   # local: one bitmap per source for every task (sharedmarks.py)
    writer = writer_for(jobs[0].slices[0][0]) if jobs and jobs[0].slices else None
    # local staged files are read directly, ahead of the task: the run's reads, else this task's own
    own = writer is None or writer.reads is None
    reads = DirectReads().plan([(job.index, job.slices) for job in jobs]) if own else writer.reads
    # local shards are written in the background; leaving waits for every write in flight and raises
    # the first write error, or keeps the error that ended the loop (directwrite.ShardWrites)
    try:
        with ShardWrites() if ctx.upload_to is None else nullcontext() as writes:
            for job in jobs:
                fetched = reads.take(job.index, job.slices)
                table, source_ids, source_rows, ticks = _gather_group(job, ctx, readers, layouts, memory, fetched)
                _mark_runs(source_ids, source_rows, marks, counts, ctx.source_rows, ctx.source_id_offset, shared)
                if ctx.time_column is None:   # no time: source file and row order
                    ns, order = None, lineage_order(source_ids, source_rows)
                else:
                    order, ns = time_sort(ticks)
                table = _decode_text(gather_pieces(table, order))   # gather.py: taken across the pieces
                # the lineage columns, last: numpy gathers them
                table = table.append_column(SOURCE_ID_COLUMN,
                                            pa.array(source_ids if order is None else source_ids[order]))
                table = table.append_column(SOURCE_ROW_COLUMN,
                                            pa.array(source_rows if order is None else source_rows[order]))
                for name, dtype in casts.items():
                    i = table.schema.get_field_index(name)
                    table = table.set_column(i, name, pc.cast(table.column(i), dtype))
                step = ctx.max_rows_per_shard or max(table.num_rows, 1)
                first = dict(ctx.part_start).get(job.rel_dir, 0)
                for part, start in enumerate(range(0, table.num_rows, step), start=first):
                    part_ns = None if ns is None else ns[start:start + step]
                    shards.append(_write_shard(job, part, table.slice(start, step), part_ns, ctx, writes))
    finally:
        reads.close() if own else None
        for reader in readers.values():
            reader.close() if hasattr(reader, "close") else None
    written = {} if shared is not None else {k: np.packbits(v) for k, v in marks.items()}   # shared: the driver packs them
    return ReduceResult(shards=shards, written=written, counts=counts)


def _gather_group(job: GroupJob, ctx: WriteContext, readers: dict, layouts: dict, memory, fetched: dict
                  ) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray | None]:
    """One group's staged rows, in source order: (stored columns, lineage ids as int32, source rows as
    int64, ticks or None without a time column). Each staged slice holds rows of exactly one source;
    a file's layout is parsed once (stage_write.staged_layout) and the lineage columns are built for
    the whole group at once, not per slice."""
    pieces, offsets, ticks, ids, firsts, sizes = [], [], [], [], [], []
    for i, (path, batch_index, _) in enumerate(job.slices):
        staged = fetched.get(i)   # a local staged file's part, read directly (staged_direct.py)
        if staged is None and memory is not None:
            staged = memory.piece(path, batch_index)   # stage_memory.py
        if staged is None:
            staged = staged_batch(readers, path, batch_index)
        lay = layouts.get(path)
        if lay is None:
            lay = layouts[path] = staged_layout(staged.schema, ctx.time_column)
        pieces.append(staged.select(lay.stored))
        offsets.append(staged.column(lay.rows).to_numpy())
        if lay.ticks is not None:
            column = staged.column(lay.ticks)
            ticks.append(column.to_numpy() if lay.ticks_staged else ticks_of(column))
        ids.append(lay.source_id)
        firsts.append(lay.first_row)
        sizes.append(staged.num_rows)
    first = pieces[0].schema
    if all(p.schema.equals(first) for p in pieces[1:]):
        table = pa.Table.from_batches(pieces).replace_schema_metadata(None)
    else:   # staged files encode text independently: decode first
        table = pa.concat_tables([_decode_text(pa.Table.from_batches([p]).replace_schema_metadata(None))
                                  for p in pieces])
    rows = np.concatenate(offsets).astype(np.int64)
    rows += np.repeat(np.array(firsts, np.int64), sizes)
    source_ids = np.repeat(np.array(ids, np.int32), sizes)
    return table, source_ids, rows, (np.concatenate(ticks) if ticks else None)


def _mark_runs(ids: np.ndarray, rows: np.ndarray, marks: dict, counts: dict, source_rows: tuple[int, ...],
               offset: int, shared: SharedMarks | None) -> None:
    """``_mark_written`` for each run of one source in a group's rows (they arrive in source order)."""
    if not len(ids):
        return
    cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    for start, stop in zip([0, *cuts.tolist()], [*cuts.tolist(), len(ids)]):
        _mark_written(int(ids[start]), rows[start:stop], marks, counts, source_rows, offset, shared)


def _decode_text(table: pa.Table) -> pa.Table:
    """Undo the stage step's dictionary encoding (see stage_write.encode_text)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, pc.cast(table.column(i), f.type.value_type))
    return table


def time_order(ns: np.ndarray) -> np.ndarray | None:
    """Row order by time, ties kept in arrival order. Rows arrive in (source id, source row)
    order, so this is the shard order: time, then source order. None when the rows already
    arrive in time order (common: logs are written in time order), which spares the sort and
    the gather (gather.time_sort, which also gives the ticks in that order)."""
    return time_sort(ns)[0]


def source_order(table: pa.Table) -> np.ndarray | None:
    """Row order by (source id, source row): the order of a shard without a time column;
    None when the rows already arrive in that order."""
    return lineage_order(table.column(SOURCE_ID_COLUMN).to_numpy(), table.column(SOURCE_ROW_COLUMN).to_numpy())


def lineage_order(ids: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    """``source_order`` of the lineage columns as arrays."""
    if len(ids) < 2 or bool(((ids[1:] > ids[:-1]) | ((ids[1:] == ids[:-1]) & (rows[1:] > rows[:-1]))).all()):
        return None
    return np.lexsort((rows, ids))


def _mark_written(lineage_id: int, rows: np.ndarray, marks: dict, counts: dict,
                  source_rows: tuple[int, ...], offset: int = 0, shared: SharedMarks | None = None) -> None:
    if len(rows) == 0:
        return
    source_id = lineage_id - offset  # this run's own numbering
    mark = marks.get(source_id)
    if mark is None:
        mark = marks[source_id] = shared.bitmap(source_id, source_rows[source_id]) if shared is not None else \
            np.zeros(source_rows[source_id], dtype=bool)
    # a row written twice is caught by check_conservation: the rows counted here then exceed the
    # distinct rows the bitmaps hold (no gather of the bitmap per piece)
    mark[rows] = True
    counts[source_id] = counts.get(source_id, 0) + len(rows)


def _write_shard(job: GroupJob, part: int, piece: pa.Table, ns: np.ndarray | None, ctx: WriteContext,
                 writes: ShardWrites | None = None) -> tuple[int, ShardEntry]:
    rel = f"{job.rel_dir}/part-{part:05d}.parquet" if job.rel_dir else f"part-{part:05d}.parquet"
    dest = os.path.join(ctx.shard_root, *rel.split("/"))
    if ctx.upload_to is None:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
    sink = pa.BufferOutputStream()
    collected: list = []
    piece = with_nan_counts(piece)  # NaN counts of float columns in the footer (contract/nancount.py)
    pq.write_table(piece, sink, metadata_collector=collected,
                   **write_options(piece.schema, dict(ctx.compression), ctx.row_group_size))  # shard_encoding.py
    data = sink.getvalue()
    if ctx.upload_to is not None:  # the task uploads its own shard: the client never needs this machine's disk
        from .remote_split import upload_shard

        upload_shard(ctx.upload_to, rel, data)
    else:
        (writes.submit if writes is not None else write_file)(dest, data)   # past the page cache where the filesystem allows it (directwrite.py)
    meta = collected[0]
    time_min, time_max = time_range(ns, ctx.time_resolution, ordered=True)   # shard rows are in time order
    return job.index, ShardEntry(
        path=rel, group=job.group, part=part, rows=piece.num_rows, bytes=data.size,
        sha256=hashlib.sha256(data).hexdigest(),
        row_groups=[meta.row_group(i).num_rows for i in range(meta.num_row_groups)],
        time_min=time_min, time_max=time_max,
        label_counts=_label_counts(piece.column(ctx.label)) if ctx.label else None,
    )
