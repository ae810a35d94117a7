"""Stage step: one task per work unit (a CSV block, or a run of Parquet row
groups). It streams the unit in bounded batches, adds the lineage columns,
parses the time, computes each row's group and writes the batch, ordered by
group, to an Arrow IPC file in the staging directory. It returns where each
group's rows sit in that file, so the reduce step can gather a group's rows
from every staged file without re-reading any source.

Per batch: ``stage_times.timed_rows`` (parse the times, count or drop bad ones),
``stage_groups.group_keys`` (each row's group), ``stage_write`` (the staged table,
ordered by group, written one record batch per group)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datagen.contract.errors import SchemaError

from .csvtypes import CsvBlock, open_block
from .oserrors import output_error
from .csvread import csv_reader
from .readcast import conform
from .sources import READ_ERRORS, parquet_file, read_error
from .stage_groups import group_keys
from .stage_times import timed_rows
from .stage_hashed import read_and_hash
from .stage_write import StagedFile, staged_table, track_ranges, write_staged


@dataclass(frozen=True)
class WorkUnit:
    index: int
    source_id: int
    url: str
    format: str
    row_groups: tuple[int, ...] = ()
    first_row: int = 0
    block: CsvBlock | None = None                             # a CSV unit's bytes (csvscan.py)
    read_types: tuple[tuple[str, pa.DataType], ...] = ()      # and the types it is read with (csvtypes.py)


@dataclass(frozen=True)
class StageContext:
    staging_dir: str
    schema: pa.Schema               # unified read schema of the sources
    time_column: str | None         # None: no time column
    time_unit: str | None
    timezone: str
    group_by: tuple[str, ...]
    derived: frozenset[str]
    on_bad_time: str
    batch_rows: int
    range_columns: tuple[str, ...]  # int and float64 columns whose range --compact needs
    encoding: str | None = None     # of CSV inputs (None: UTF-8)
    on_missing_time: str | None = None   # group | drop | error (see missing_times.py)
    source_id_offset: int = 0       # an append numbers its sources after the dataset's (lineage ids)
    naive_timezone: str | None = None   # zone-less times are wall-clock times there (None: UTC; localtimes.py)
    keep_unit: str | None = None    # an --append of text times into a s|ms time column: digits below it are bad
    time_format: str | None = None  # --time-format: text times in this strptime format (timeformat.py)


@dataclass
class StageResult:
    unit: int
    source_id: int
    rows_read: int = 0
    bad_count: int = 0
    outside_count: int = 0          # bad times that parsed but lie outside the supported range
    missing_count: int = 0          # rows with an empty or null time (kept, dropped or an error)
    missing_first: int | None = None   # the first such source row of the unit
    naive_count: int = 0            # rows whose time had no zone (localtimes.py)
    finer_count: int = 0            # bad text times with digits finer than the split's resolution (us)
    coarse_count: int = 0           # bad text times with digits below ``keep_unit`` (the dataset's s|ms)
    keep_unit: str | None = None    # that unit, when any was found
    dropped_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    bad_samples: list[tuple[int, str]] = field(default_factory=list)
    files: list[StagedFile] = field(default_factory=list)
    value_ranges: dict[str, tuple] = field(default_factory=dict)   # see stage_write.track_ranges
    sha256: str | None = None       # the source's fingerprint, when this unit read the whole file (stage_hashed.py)


def read_batches(unit: WorkUnit, ctx: StageContext, data: pa.Buffer | None = None):
    """Yield Arrow tables of at most about ``ctx.batch_rows`` rows, in source order; ``data``:
    the whole Parquet file, already in memory (stage_hashed.py)."""
    names = ctx.schema.names
    if unit.format == "parquet":
        # a unit is at most batch_rows rows (planned from the row-group sizes): read it in one go
        with (parquet_file(unit.url) if data is None else pq.ParquetFile(pa.BufferReader(data))) as pf:
            yield conform(pf.read_row_groups(list(unit.row_groups), columns=names).select(names), ctx.schema,
                          ctx.time_column)
        return
    # numbers are read as this block holds them and cast safely by conform (forcing the unified type on
    # the CSV parser would round an int64 beyond 2**53 into a float64 silently); see csvtypes.py
    with open_block(unit.block) as fh:
        reader = csv_reader(fh, unit.url, dict(unit.read_types), block_size=min(16 << 20, max(1 << 20, ctx.batch_rows * 64)),
                            encoding=ctx.encoding)
        if sorted(reader.schema.names) != sorted(names):   # the order may differ (an append reads in the dataset's)
            raise SchemaError(f"input {unit.url!r}: header {reader.schema.names} differs from {names}")
        pending, rows = [], 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= ctx.batch_rows:
                yield conform(pa.Table.from_batches(pending).select(names), ctx.schema, ctx.time_column)
                pending, rows = [], 0
        if pending:
            yield conform(pa.Table.from_batches(pending).select(names), ctx.schema, ctx.time_column)


def stage_unit(unit: WorkUnit, ctx: StageContext, hash_source: bool = False) -> StageResult:
    """Run the stage step for one unit; see the module docstring. ``hash_source`` (a unit that
    is a whole local Parquet file): the file is read once, fingerprinted (``result.sha256``) and
    decoded from those same bytes, rather than read a second time to fingerprint it."""
    result = StageResult(unit=unit.index, source_id=unit.source_id)
    first = unit.first_row
    dropped: list[np.ndarray] = []
    try:
        data = None
        if hash_source:
            data, result.sha256 = read_and_hash(unit.url)
        for k, table in enumerate(read_batches(unit, ctx, data)):
            rows = np.arange(first, first + table.num_rows, dtype=np.int64)
            first += table.num_rows
            result.rows_read += table.num_rows
            if table.num_rows == 0:
                continue
            timed = timed_rows(table, rows, ctx, result, dropped)
            if timed is None:
                continue
            table, ns, rows = timed
            order, keys, counts = group_keys(table, ns, unit.url, ctx)
            table = staged_table(table, ns, rows, unit.source_id + ctx.source_id_offset, order, ctx)
            track_ranges(table, ctx.range_columns, result.value_ranges)
            path = os.path.join(ctx.staging_dir, f"u{unit.index:06d}-{k:04d}.arrow")
            result.files.append(write_staged(table, keys, counts, path))
    except READ_ERRORS as exc:
        # a full disk or an unwritable staging tree is the output's fault, not the input's
        raise output_error(exc, os.path.dirname(ctx.staging_dir)) or read_error(unit.url, exc) from None
    if dropped:
        result.dropped_rows = np.concatenate(dropped)
    return result
