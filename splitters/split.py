"""The split, end to end: sources -> plan -> stage -> reduce -> conservation
check -> shards moved into place -> manifest written last (the commit; see
outdir.py and publish.py for the output directory's life cycle)."""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datagen._version import __version__
from datagen.contract.hashing import sha256_file
from datagen.contract.errors import ColumnError, ConservationError, OutputError, SourceError, TimeParseError
from datagen.contract.hive import group_dir
from datagen.contract.packing import pack_in_order
from datagen.contract.format import (FORMAT_VERSION, SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN, ColumnEntry, GroupColumn,
                                     Manifest, SourceEntry, Totals)

from . import outdir
from .config import DERIVED_PARTS, SplitConfig
from .codecs import choose_codecs
from .engine import Engine
from .oserrors import output_error
from .overlap import check_overlap
from .publish import publish
from .reduce import GroupJob, ReduceResult, WriteContext, reduce_groups
from .sources import SourceFile, discover, parquet_file, read_schema, unified_schema
from .stage import StageContext, StageResult, WorkUnit, stage_unit
from .groupvalues import (canonical, check_distinct_dirs, check_group_type, check_path_length, folds_names,
                          json_value, path_max, sort_key)
from .timekeys import SUPPORTED_RANGE, check_time_type, derived_value
from .uptodate import stale_reason

MIN_BATCH_ROWS = 16_384
MAX_BATCH_ROWS = 1 << 20


@dataclass
class SplitSummary:
    out: str
    status: str          # "written" | "up to date"
    rows: int
    shards: int
    bytes: int
    seconds: float
    action: str = ""

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        return (f"{self.status}: {self.rows:,} rows in {self.shards:,} shards, {self.bytes / 1e6:,.1f} MB, "
                f"{self.seconds:.1f} s, {rate:,.0f} rows/s -> {self.out}")


def _row_bytes(schema: pa.Schema) -> int:
    total = 16  # lineage columns
    for f in schema:
        try:
            total += max(1, f.type.bit_width // 8)
        except ValueError:
            total += 32
    return total


def batch_rows_for(cfg: SplitConfig, schema: pa.Schema, workers: int) -> int:
    """Rows per staged batch so that every worker's copies fit in the memory limit."""
    per_worker = cfg.memory_limit // max(1, workers)
    rows = per_worker // (_row_bytes(schema) * 10)
    return int(min(MAX_BATCH_ROWS, max(MIN_BATCH_ROWS, rows)))


def _check_columns(cfg: SplitConfig, schema: pa.Schema, sources: list[SourceFile]) -> None:
    names = set(schema.names)
    where = sources[0].url if len(sources) == 1 else f"{len(sources)} input files"
    for reserved in (SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN):
        if reserved in names:
            raise ColumnError(f"input column {reserved!r} clashes with the lineage column of that name; rename it")
    if cfg.time_column not in names:
        raise ColumnError(f"time column {cfg.time_column!r} not found in {where} (columns: {', '.join(schema.names)})")
    if cfg.label is not None and cfg.label not in names:
        raise ColumnError(f"label column {cfg.label!r} not found in {where} (columns: {', '.join(schema.names)})")
    if cfg.label is not None:
        label_type = schema.field(cfg.label).type
        if pa.types.is_dictionary(label_type):
            label_type = label_type.value_type
        if not (pa.types.is_integer(label_type) or pa.types.is_floating(label_type) or pa.types.is_boolean(label_type)
                or pa.types.is_decimal(label_type) or pa.types.is_string(label_type)
                or pa.types.is_large_string(label_type)):
            raise ColumnError(f"label column {cfg.label!r} has type {label_type}; a label must be a number, a bool "
                              "or a class name (string)")
    for g in cfg.group_by:
        if g in DERIVED_PARTS:
            if g in names:
                raise ColumnError(f"group part {g!r} is derived from the time column but {where} also has a column "
                                  f"{g!r}; rename that column")
        elif g not in names:
            raise ColumnError(f"group column {g!r} not found in {where}; expected a column or one of "
                              f"{', '.join(DERIVED_PARTS)}")
        else:
            check_group_type(g, schema.field(g).type)
    check_time_type(cfg.time_column, schema.field(cfg.time_column).type, cfg.time_unit)


def _plan_units(sources: list[SourceFile], batch_rows: int) -> list[WorkUnit]:
    units: list[WorkUnit] = []
    for src in sources:
        if src.format == "csv":
            units.append(WorkUnit(len(units), src.id, src.url, "csv"))
            continue
        meta = parquet_file(src.url).metadata
        first = 0
        for group, rows in pack_in_order(range(meta.num_row_groups), lambda rg: meta.row_group(rg).num_rows,
                                         batch_rows):
            units.append(WorkUnit(len(units), src.id, src.url, "parquet", tuple(group), first))
            first += rows
    return units


def _json_value(v):
    return json_value(v)


def _sort_key(key: tuple) -> tuple:
    return sort_key(key)


def _bad_time_error(cfg: SplitConfig, results: list[StageResult], sources: list[SourceFile]) -> TimeParseError:
    total = sum(r.bad_count for r in results)
    samples = []
    for r in results:
        for row, value in r.bad_samples:
            samples.append(f"{sources[r.source_id].url}:row {row}: {value}")
    shown = "; ".join(samples[:3])
    outside = sum(r.outside_count for r in results)
    if outside:
        return TimeParseError(f"{total:,} rows have a time in column {cfg.time_column!r} that cannot be parsed or "
                              f"represented ({outside:,} outside the supported range {SUPPORTED_RANGE}) "
                              f"(first: {shown}); fix them or pass --on-bad-time drop")
    return TimeParseError(f"{total:,} rows have a time in column {cfg.time_column!r} that cannot be parsed "
                          f"(first: {shown}); fix them or pass --on-bad-time drop")


def _group_jobs(cfg: SplitConfig, results: list[StageResult], derived: set[str]) -> list[GroupJob]:
    """One job per distinct stored group value (keys equal as stored are merged, NaN == NaN);
    refuses, before any shard is written, a group whose path would not fit the filesystem."""
    slices: dict[tuple, list] = {}
    first_key: dict[tuple, tuple] = {}
    for r in sorted(results, key=lambda r: r.unit):
        for f in r.files:
            for key, offset, count in f.groups:
                values = tuple(derived_value(g, v) if g in derived else _json_value(v)
                               for g, v in zip(cfg.group_by, key))
                canon = canonical(values)
                first_key.setdefault(canon, key)
                slices.setdefault(canon, []).append((f.path, offset, count))
    jobs = []
    limit = path_max(cfg.out)
    for index, canon in enumerate(sorted(slices, key=lambda c: _sort_key(first_key[c]))):
        key = first_key[canon]
        values = tuple(derived_value(g, v) if g in derived else _json_value(v) for g, v in zip(cfg.group_by, key))
        group = dict(zip(cfg.group_by, values))
        rel_dir = group_dir(cfg.group_by, values)
        check_path_length(cfg.out, rel_dir, group, limit)
        jobs.append(GroupJob(index, rel_dir, group, tuple(slices[canon])))
    # the probe file goes in the staging tree (same filesystem), which recovery after a kill clears
    check_distinct_dirs([(j.rel_dir, j.group) for j in jobs], cfg.out,
                        folds_names(os.path.join(cfg.out, outdir.STAGING)))
    return jobs


def _batch_jobs(jobs: list[GroupJob], target_rows: int, min_tasks: int) -> list[list[GroupJob]]:
    total = sum(c for j in jobs for _, _, c in j.slices)
    per_task = max(1, min(target_rows, -(-total // max(1, min_tasks))))
    return [batch for batch, _ in pack_in_order(jobs, lambda job: sum(c for _, _, c in job.slices), per_task)]


def _compact_casts(schema: pa.Schema, ranges: dict[str, tuple]) -> list[tuple[str, str]]:
    """--compact: float64 -> float32 when every finite value fits float32's range (NaN and
    +-inf are kept as they are); integers -> the smallest type holding their range. Columns
    without a measured range (the time column) are left alone."""
    casts = []
    f32 = float(np.finfo(np.float32).max)
    for f in schema:
        if f.name not in ranges:
            continue
        lo, hi = ranges[f.name]
        if pa.types.is_float64(f.type):
            if -f32 <= lo and hi <= f32:
                casts.append((f.name, "float32"))
        elif pa.types.is_integer(f.type):
            for name in ("int8", "int16", "int32"):
                info = np.iinfo(name)
                if info.min <= lo and hi <= info.max:
                    if pa.type_for_alias(name).bit_width < f.type.bit_width:
                        casts.append((f.name, name))
                    break
    return casts


def _check_conservation(sources: list[SourceFile], stage: list[StageResult],
                        reduced: list[ReduceResult]) -> dict[int, tuple[int, int, int]]:
    read = {s.id: 0 for s in sources}
    dropped: dict[int, list[np.ndarray]] = {s.id: [] for s in sources}
    for r in stage:
        read[r.source_id] += r.rows_read
        dropped[r.source_id].append(r.dropped_rows)
    counts = {}
    for src in sources:
        n = read[src.id]
        acc = np.zeros((n + 7) // 8, dtype=np.uint8)
        for red in reduced:
            bits = red.written.get(src.id)
            if bits is None:
                continue
            if np.bitwise_and(acc, bits).any():
                raise ConservationError(f"{src.url!r}: some source rows were written to more than one shard")
            np.bitwise_or(acc, bits, out=acc)
        written_mask = np.unpackbits(acc, count=n).astype(bool) if n else np.zeros(0, bool)
        drops = np.concatenate(dropped[src.id]) if dropped[src.id] else np.empty(0, np.int64)
        if len(np.unique(drops)) != len(drops) or (len(drops) and written_mask[drops].any()):
            raise ConservationError(f"{src.url!r}: a dropped row was also written, or dropped twice")
        written = int(written_mask.sum())
        reported = sum((red.counts or {}).get(src.id, 0) for red in reduced)
        if reported != written:
            raise ConservationError(f"{src.url!r}: {reported:,} rows were written for {written:,} distinct source rows "
                                    "(a source row was written twice)")
        if written + len(drops) != n:
            missing = np.flatnonzero(~written_mask)
            missing = missing[~np.isin(missing, drops)]
            raise ConservationError(f"{src.url!r}: read {n:,} rows but wrote {written:,} and dropped {len(drops):,} "
                                    f"(first missing row: {int(missing[0]) if len(missing) else '?'})")
        counts[src.id] = (n, written, len(drops))
    return counts


def _stage_or_fingerprint(item: tuple, ctx: StageContext):
    kind, what = item
    return stage_unit(what, ctx) if kind == "stage" else sha256_file(what)


def run_split(cfg: SplitConfig, log=lambda msg: None) -> SplitSummary:
    """Run one split as configured; raises a DatagenError on bad input."""
    t0 = time.perf_counter()
    sources = discover(cfg.inputs)
    out = Path(os.path.realpath(cfg.out))  # as the OS resolves it: "link/.." is the link target's parent
    check_overlap(out, cfg.inputs, sources)
    stamps = [{"path": s.url, "bytes": s.bytes, "mtime": s.mtime, "etag": s.etag} for s in sources]
    try:
        with outdir.OutDir(out) as target:
            old = target.inspect()
            if old is not None and not cfg.overwrite:
                reason = stale_reason(out, old, cfg.semantic(), stamps)
                if reason is None:
                    return SplitSummary(str(out), "up to date", old.totals.rows_written, len(old.shards),
                                        old.totals.bytes, time.perf_counter() - t0)
                raise OutputError(f"--out {str(out)!r} already holds a dataset {reason}; "
                                  "pass --overwrite to replace it")
            with Engine(cfg.scheduler, cfg.workers, cfg.progress) as engine:
                schemas = engine.map(read_schema, sources, cfg.time_column, cfg.time_unit, desc="schemas")
                schema = unified_schema(sources, schemas)
                _check_columns(cfg, schema, sources)
                target.begin()
                summary = _split(cfg, engine, sources, schema, out, t0)
            summary.action = ("replaced" if old is not None else
                              "restarted after an interrupted split" if target.recovered else "created")
            return summary
    except OSError as exc:
        error = output_error(exc, out)
        if error is None:
            raise
        raise error from None


def _split(cfg: SplitConfig, engine: Engine, sources: list[SourceFile], schema: pa.Schema, out: Path,
           t0: float) -> SplitSummary:
    staging = out / outdir.STAGING
    derived = {g for g in cfg.group_by if g in DERIVED_PARTS}
    batch_rows = batch_rows_for(cfg, schema, engine.workers)
    units = _plan_units(sources, batch_rows)
    int_columns = tuple(f.name for f in schema if (pa.types.is_integer(f.type) or pa.types.is_float64(f.type))
                        and f.name != cfg.time_column)
    ctx = StageContext(str(staging), schema, cfg.time_column, cfg.time_unit, cfg.timezone, tuple(cfg.group_by),
                       frozenset(derived), cfg.on_bad_time, batch_rows, int_columns if cfg.compact else ())
    # fingerprinting the sources runs in the same pass, filling the gaps between stage tasks
    work = [("stage", u) for u in units] + [("sha256", s.url) for s in sources]
    done = engine.map(_stage_or_fingerprint, work, ctx, desc="stage")
    stage = [r for (kind, _), r in zip(work, done) if kind == "stage"]
    fingerprints = [r for (kind, _), r in zip(work, done) if kind == "sha256"]
    if cfg.on_bad_time == "error" and any(r.bad_count for r in stage):
        raise _bad_time_error(cfg, stage, sources)
    rows_read = sum(r.rows_read for r in stage)
    if rows_read == 0:
        raise SourceError(f"the input holds no rows ({len(sources)} file(s), e.g. {sources[0].url!r})")
    if all(not r.files for r in stage):
        raise SourceError(f"all {rows_read:,} input rows were dropped for unparseable times; nothing to write")

    jobs = _group_jobs(cfg, stage, derived)
    ranges: dict[str, tuple] = {}
    for r in stage:
        for name, (lo, hi) in r.int_ranges.items():
            a, b = ranges.get(name, (lo, hi))
            ranges[name] = (min(a, lo), max(b, hi))
    plain = set(cfg.plain_group_columns)
    stored = pa.schema([f for f in schema if f.name not in plain])
    read_per_source = [0] * len(sources)
    for r in stage:
        read_per_source[r.source_id] += r.rows_read
    stored_with_lineage = pa.schema(list(stored) + [pa.field(SOURCE_ID_COLUMN, pa.int32()),
                                                    pa.field(SOURCE_ROW_COLUMN, pa.int64())])
    codecs = choose_codecs(sources[0], stored_with_lineage, cfg.compression, always=(cfg.time_column,),
                           min_saving=cfg.min_compression_saving)
    wctx = WriteContext(
        shard_root=str(staging / "shards"), compression=tuple(codecs.items()), row_group_size=cfg.row_group_size,
        max_rows_per_shard=cfg.max_rows_per_shard,
        casts=tuple(_compact_casts(stored, ranges)) if cfg.compact else (),
        dictionary_columns=tuple(f.name for f in stored if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                                 or pa.types.is_boolean(f.type)),
        label=cfg.label, time_column=cfg.time_column, source_rows=tuple(read_per_source),
    )
    batches = _batch_jobs(jobs, target_rows=batch_rows, min_tasks=4 * engine.workers)
    # biggest batches first, so the last tasks to finish are short ones
    batches.sort(key=lambda b: -sum(c for j in b for _, _, c in j.slices))
    reduced = engine.map(reduce_groups, batches, wctx, desc="write")
    counts = _check_conservation(sources, stage, reduced)

    shard_results = [s for _, s in sorted((pair for r in reduced for pair in r.shards),
                                           key=lambda pair: (pair[0], pair[1].part))]
    shard_root = Path(wctx.shard_root)
    shard_schema = pq.read_schema(shard_root.joinpath(*shard_results[0].path.split("/")))
    group_types = []
    for g in cfg.group_by:
        if g in derived:
            group_types.append(GroupColumn(g, "string" if g == "date" else "int32", derived_from=cfg.time_column))
        else:
            group_types.append(GroupColumn(g, str(schema.field(g).type)))

    def build(shards: list) -> Manifest:
        return Manifest(
            format_version=FORMAT_VERSION,
            tool_version=__version__,
            created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            config=cfg.semantic(),
            sources=[SourceEntry(s.id, s.url, s.format, s.bytes, s.mtime, s.etag, fingerprints[s.id],
                                 counts[s.id][0], counts[s.id][2]) for s in sources],
            schema=[ColumnEntry(f.name, str(f.type)) for f in shard_schema],
            group_columns=group_types,
            time_column=cfg.time_column,
            label_column=cfg.label,
            shards=shards,
            codecs=codecs,
            totals=Totals(rows_read=sum(c[0] for c in counts.values()),
                          rows_written=sum(c[1] for c in counts.values()),
                          rows_dropped=sum(c[2] for c in counts.values()), shards=len(shards),
                          groups=len(jobs), bytes=sum(s.bytes for s in shards)),
        )

    manifest = publish(out, shard_root, shard_results, build)
    return SplitSummary(str(out), "written", manifest.totals.rows_written, len(manifest.shards),
                        manifest.totals.bytes, time.perf_counter() - t0)
