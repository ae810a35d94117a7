"""Stage step: one task per work unit (a CSV file, or a run of Parquet row
groups). It streams the unit in bounded batches, adds the lineage columns,
parses the time, computes each row's group and writes the batch, ordered by
group, to an Arrow IPC file in the staging directory. It returns where each
group's rows sit in that file, so the reduce step can gather a group's rows
from every staged file without re-reading any source."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.errors import ConfigError, SourceError
from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN

from .oserrors import output_error
from .sources import READ_ERRORS, conform, csv_reader, open_binary, parquet_file, read_error
from .groupkeys import GroupValueError, group_rows
from .timekeys import derived_part, local_ns, looks_numeric, parse_times

BAD_SAMPLES = 5
TIME_NS_COLUMN = "__time_ns"


@dataclass(frozen=True)
class WorkUnit:
    index: int
    source_id: int
    url: str
    format: str
    row_groups: tuple[int, ...] = ()
    first_row: int = 0


@dataclass(frozen=True)
class StageContext:
    staging_dir: str
    schema: pa.Schema               # unified read schema of the sources
    time_column: str
    time_unit: str | None
    timezone: str
    group_by: tuple[str, ...]
    derived: frozenset[str]
    on_bad_time: str
    batch_rows: int
    int_columns: tuple[str, ...]    # int and float64 columns whose range --compact needs


@dataclass
class StagedFile:
    path: str
    rows: int
    groups: list[tuple[tuple, int, int]]   # (group key, record batch index, rows)


@dataclass
class StageResult:
    unit: int
    source_id: int
    rows_read: int = 0
    bad_count: int = 0
    outside_count: int = 0          # bad times that parsed but lie outside the supported range
    dropped_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    bad_samples: list[tuple[int, str]] = field(default_factory=list)
    files: list[StagedFile] = field(default_factory=list)
    int_ranges: dict[str, tuple] = field(default_factory=dict)   # see _track_ranges


def time_ns_name(names: list[str]) -> str:
    """The staged column holding the time in ns: ``__time_ns``, lengthened until no input
    column has that name."""
    name = TIME_NS_COLUMN
    while name in names:
        name += "_"
    return name


def _track_ranges(table: pa.Table, names: tuple[str, ...], ranges: dict[str, tuple]) -> None:
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


def _shown(column: pa.ChunkedArray, i: int) -> str:
    """A bad time value as shown in the error message; never raises."""
    try:
        return repr(column[i].as_py())
    except (ValueError, OverflowError, TypeError, pa.ArrowException):
        pass
    try:
        return repr(pc.cast(column.slice(i, 1), pa.string())[0].as_py())
    except (ValueError, OverflowError, TypeError, pa.ArrowException):
        return f"a {column.type} value"


def _numbers_without_unit(column: pa.ChunkedArray, ctx: StageContext) -> None:
    """Epoch numbers read as text (CSV) without --time-unit: say so, rather than "cannot be parsed"."""
    if ctx.time_unit is None and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        kind = looks_numeric(column)
        if kind:
            raise ConfigError(f"time column {ctx.time_column!r} holds numbers ({kind}); pass --time-unit s|ms|us|ns")


def _encode_text(table: pa.Table) -> pa.Table:
    """Dictionary-encode repetitive text columns: moving indices is far cheaper than moving
    strings. The reduce step decodes them again, so shard bytes do not depend on batching."""
    for i, f in enumerate(table.schema):
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            encoded = pc.dictionary_encode(table.column(i))
            if len(encoded.chunk(0).dictionary) * 2 < max(1, table.num_rows):
                table = table.set_column(i, f.name, encoded)
    return table


def _batches(unit: WorkUnit, ctx: StageContext):
    """Yield Arrow tables of at most about ``ctx.batch_rows`` rows, in source order."""
    names = ctx.schema.names
    if unit.format == "parquet":
        # a unit is at most batch_rows rows (planned from the row-group sizes): read it in one go
        with parquet_file(unit.url) as pf:
            yield conform(pf.read_row_groups(list(unit.row_groups), columns=names).select(names), ctx.schema,
                          ctx.time_column)
        return
    # numbers are read as this file holds them and cast safely by conform (forcing the unified type on
    # the CSV parser would round an int64 beyond 2**53 into a float64 silently)
    types = {f.name: f.type for f in ctx.schema if not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))}
    with open_binary(unit.url) as fh:
        reader = csv_reader(fh, unit.url, types, block_size=min(16 << 20, max(1 << 20, ctx.batch_rows * 64)))
        if reader.schema.names != names:
            raise SourceError(f"input {unit.url!r}: header {reader.schema.names} differs from {names}")
        pending, rows = [], 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= ctx.batch_rows:
                yield conform(pa.Table.from_batches(pending), ctx.schema, ctx.time_column)
                pending, rows = [], 0
        if pending:
            yield conform(pa.Table.from_batches(pending), ctx.schema, ctx.time_column)


def stage_unit(unit: WorkUnit, ctx: StageContext) -> StageResult:
    """Run the stage step for one unit; see the module docstring."""
    result = StageResult(unit=unit.index, source_id=unit.source_id)
    first = unit.first_row
    dropped = []
    try:
        for k, table in enumerate(_batches(unit, ctx)):
            n = table.num_rows
            rows = np.arange(first, first + n, dtype=np.int64)
            first += n
            result.rows_read += n
            if n == 0:
                continue
            time_col = table.column(ctx.time_column)
            parsed = parse_times(time_col, ctx.time_unit)
            ns, bad = parsed.ns, parsed.bad
            if bad.any():
                _numbers_without_unit(time_col, ctx)
                idx = np.flatnonzero(bad)
                result.bad_count += len(idx)
                result.outside_count += int(parsed.outside.sum())
                for i in idx[: BAD_SAMPLES - len(result.bad_samples)]:
                    result.bad_samples.append((int(rows[i]), _shown(time_col, int(i))))
                if ctx.on_bad_time == "error":
                    continue
                dropped.append(rows[idx])
                keep = ~bad
                table, ns, rows = table.filter(pa.array(keep)), ns[keep], rows[keep]
                if table.num_rows == 0:
                    continue
            if ctx.on_bad_time == "error" and result.bad_count:
                continue
            if not (pa.types.is_timestamp(time_col.type) or pa.types.is_date(time_col.type)):
                idx = table.schema.get_field_index(ctx.time_column)
                table = table.set_column(idx, ctx.time_column, pa.array(ns, type=pa.timestamp("ns", "UTC")))
            local = local_ns(ns, ctx.timezone) if ctx.derived else ns
            keys = [derived_part(g, local) if g in ctx.derived else table.column(g) for g in ctx.group_by]
            try:
                order, group_keys, counts = group_rows(keys)
            except GroupValueError as exc:
                raise SourceError(f"input {unit.url!r}: group column {ctx.group_by[exc.column]!r} holds {exc.value}, "
                                  "which cannot name a group (dates and times must lie in years 1..9999)") from None
            plain = [g for g in ctx.group_by if g not in ctx.derived]
            if plain:
                table = table.drop_columns(plain)
            table = table.append_column(SOURCE_ID_COLUMN, pa.array(np.full(len(rows), unit.source_id, np.int32)))
            table = table.append_column(SOURCE_ROW_COLUMN, pa.array(rows))
            # the time in ns is always the last staged column (the reduce step takes it by position)
            table = table.append_column(time_ns_name(table.column_names), pa.array(ns))
            table = _encode_text(table)
            table = table.take(pa.array(order))
            _track_ranges(table, ctx.int_columns, result.int_ranges)
            # one record batch per group, so the reduce step reads exactly one group's bytes
            path = os.path.join(ctx.staging_dir, f"u{unit.index:06d}-{k:04d}.arrow")
            batch = table.combine_chunks().to_batches()[0] if table.num_rows else None
            groups, offset = [], 0
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                for index, (key, count) in enumerate(zip(group_keys, counts.tolist())):
                    writer.write_batch(batch.slice(offset, count))
                    groups.append((key, index, count))
                    offset += count
            result.files.append(StagedFile(path, table.num_rows, groups))
    except READ_ERRORS as exc:
        # a full disk or an unwritable staging tree is the output's fault, not the input's
        raise output_error(exc, os.path.dirname(ctx.staging_dir)) or read_error(unit.url, exc) from None
    if dropped:
        result.dropped_rows = np.concatenate(dropped)
    return result
