"""Stage step: one task per work unit (a CSV file, or a run of Parquet row
groups). It streams the unit in bounded batches, adds the lineage columns,
parses the time, computes each row's group and writes the batch, ordered by
group, to an Arrow IPC file in the staging directory. It returns where each
group's rows sit in that file, so the reduce step can gather a group's rows
from every staged file without re-reading any source."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datagen.errors import SourceError
from datagen.manifest import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN

from .oserrors import output_error
from .sources import csv_reader, open_binary, parquet_file
from .timekeys import derived_part, local_ns, parse_times

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
    int_columns: tuple[str, ...]    # columns whose range --compact needs


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
    dropped_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    bad_samples: list[tuple[int, str]] = field(default_factory=list)
    files: list[StagedFile] = field(default_factory=list)
    int_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)


def _factorize(values) -> tuple[np.ndarray, list]:
    """Codes and unique values of one key column (numpy or Arrow, nulls kept)."""
    if isinstance(values, np.ndarray):
        codes, uniques = pd.factorize(values)
        return codes.astype(np.int64), [int(u) for u in uniques]
    enc = pc.dictionary_encode(values, null_encoding="encode")
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    uniques = [None if isinstance(v, float) and v != v else v for v in enc.dictionary.to_pylist()]
    return codes, uniques


def group_rows(columns: list) -> tuple[np.ndarray, list[tuple], np.ndarray]:
    """For key columns, return (row order grouped by key, keys, rows per key)."""
    n = len(columns[0])
    combined = np.zeros(n, dtype=np.int64)
    dictionaries = []
    for col in columns:
        codes, uniques = _factorize(col)
        combined = combined * max(len(uniques), 1) + codes
        dictionaries.append(uniques)
    inverse, uniq = pd.factorize(combined, sort=True)
    keys = []
    for value in uniq.tolist():
        parts = []
        for uniques in reversed(dictionaries):
            value, code = divmod(value, max(len(uniques), 1))
            parts.append(uniques[code])
        keys.append(tuple(reversed(parts)))
    # small integer codes let numpy use its radix sort (stable and linear)
    narrow = np.int16 if len(uniq) < 2**15 else np.int32 if len(uniq) < 2**31 else np.int64
    order = np.argsort(inverse.astype(narrow, copy=False), kind="stable")
    counts = np.bincount(inverse, minlength=len(uniq))
    return order, keys, counts


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
            yield pf.read_row_groups(list(unit.row_groups), columns=names).select(names)
        return
    types = {f.name: f.type for f in ctx.schema}
    with open_binary(unit.url) as fh:
        reader = csv_reader(fh, unit.url, types, block_size=min(16 << 20, max(1 << 20, ctx.batch_rows * 64)))
        if reader.schema.names != names:
            raise SourceError(f"input {unit.url!r}: header {reader.schema.names} differs from {names}")
        pending, rows = [], 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= ctx.batch_rows:
                yield pa.Table.from_batches(pending)
                pending, rows = [], 0
        if pending:
            yield pa.Table.from_batches(pending)


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
            ns, bad = parse_times(time_col, ctx.time_unit)
            if bad.any():
                idx = np.flatnonzero(bad)
                result.bad_count += len(idx)
                for i in idx[: BAD_SAMPLES - len(result.bad_samples)]:
                    result.bad_samples.append((int(rows[i]), repr(time_col[int(i)].as_py())))
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
            order, group_keys, counts = group_rows(keys)
            plain = [g for g in ctx.group_by if g not in ctx.derived]
            if plain:
                table = table.drop_columns(plain)
            table = table.append_column(SOURCE_ID_COLUMN, pa.array(np.full(len(rows), unit.source_id, np.int32)))
            table = table.append_column(SOURCE_ROW_COLUMN, pa.array(rows))
            table = table.append_column(TIME_NS_COLUMN, pa.array(ns))
            table = _encode_text(table)
            table = table.take(pa.array(order))
            for name in ctx.int_columns:
                if name in table.column_names:
                    mm = pc.min_max(table.column(name)).as_py()
                    if mm["min"] is not None:
                        lo, hi = result.int_ranges.get(name, (mm["min"], mm["max"]))
                        result.int_ranges[name] = (min(lo, mm["min"]), max(hi, mm["max"]))
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
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError, EOFError) as exc:
        # a full disk or an unwritable staging tree is the output's fault, not the input's
        raise output_error(exc, os.path.dirname(ctx.staging_dir)) or SourceError(
            f"input {unit.url!r}: cannot read: {str(exc).splitlines()[0]}") from None
    if dropped:
        result.dropped_rows = np.concatenate(dropped)
    return result
