"""The split, end to end (``run_split``): discover the sources, check the columns, plan,
stage, reduce, check conservation, publish. Each step lives in its own module; this
driver only runs them in order:

    sources.py (discover, schemas) -> columns.py (checks) -> plan.py (units)
    -> stage.py (one Dask task per unit; the sources are fingerprinted in the same pass)
    -> plan.py (group jobs, reduce tasks) -> writeplan.py -> reduce.py (the shards)
    -> conservation.py -> manifest_build.py -> publish.py (shards moved, manifest written
    last: the commit; see outdir.py for the output directory's life cycle)
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from datagen.contract.errors import OutputError
from datagen.contract.storage import is_remote

from . import outdir, prewarm
from .columns import check_columns
from .csvexact import check_exact
from .csvplan import csv_units, scan_csv_input
from .config import SplitConfig
from .conservation import check_conservation
from .engine import Engine
from .gctune import fewer_collections
from .manifest_build import build_manifest
from .oserrors import output_error
from .overlap import check_overlap
from .plan import batch_jobs, batch_rows_for, group_jobs, plan_units, stage_work
from .publish import publish
from .reduce import ReduceResult, reduce_groups
from .sources import SourceFile, discover, fingerprint, read_schema
from .stage import StageContext, stage_unit
from .stage_outcome import check_staged
from .run_notes import split_notes
from .stage_hashed import hashed_units
from .stage_tail import split_tail
from .staged_drop import StagedDrop, staged_paths
from .sharedmarks import shared_marks
from .readahead import reading_ahead
from .stage_memory import kept_in_memory
from .staged_writes import read_ahead, writing_staged
from .unify import unified_schema
from .uptodate import stale_reason
from .writeplan import write_context


@dataclass
class SplitSummary:
    out: str
    status: str          # "written" | "up to date"
    rows: int
    shards: int
    bytes: int
    seconds: float
    action: str = ""     # "created" | "replaced" | "restarted after an interrupted split" ("" when up to date)
    notes: tuple[str, ...] = ()   # said after the summary line (e.g. shortened directories)
    unlisted_bytes: int = 0  # after an overwrite: shard bytes only older versions list (datagen vacuum frees them)
    listed: frozenset = frozenset()  # the shard paths the written version lists
    phases: dict = dataclasses.field(default_factory=dict)  # seconds per phase (schema, stage+hash, write, publish, cleanup)
    cpu_phases: dict = dataclasses.field(default_factory=dict)  # CPU seconds of the process (all threads) per phase
    version: int | None = None  # the version the run left current (the previous one when nothing changed)

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        return (f"{self.status}: {self.rows:,} rows in {self.shards:,} shards, {self.bytes / 1e6:,.1f} MB, "
                f"{self.seconds:.1f} s, {rate:,.0f} rows/s -> {self.out}")


def input_schema(cfg: SplitConfig, engine: Engine, sources: list[SourceFile],
                 read_parquet_schema=read_schema) -> tuple[pa.Schema, dict]:
    """(the unified schema of all inputs, the CSV blocks to stage): the CSV first pass (csvplan.py)
    and the Parquet footers, read on the engine; columns and exact CSV numbers checked."""
    csv_schemas, csv_blocks = scan_csv_input(engine, sources, cfg.blocksize, cfg.encoding,
                                             cfg.time_column, cfg.csv_time_unit)
    parquet = [s for s in sources if s.format == "parquet"]
    parquet_schemas = dict(zip((s.id for s in parquet), engine.map(read_parquet_schema, parquet, desc="schemas")))
    schema = unified_schema(sources, [csv_schemas[s.id] if s.id in csv_schemas else parquet_schemas[s.id]
                                      for s in sources])
    check_columns(cfg, schema, sources)
    check_exact(schema, [pair for pairs in csv_blocks.values() for pair in pairs], cfg.time_column)
    return schema, csv_units(csv_blocks, schema)


def _stage_or_fingerprint(item: tuple, ctx: StageContext):
    kind, what = item
    return fingerprint(what) if kind == "sha256" else stage_unit(what, ctx, hash_source=kind == "stage+sha256")


def _reduce_step(cfg: SplitConfig, engine: Engine, sources: list[SourceFile], schema: pa.Schema, known: dict,
                 work: list, done: list, derived, staging, batch_rows: int, remote):
    """After the stage step: (stage results, source fingerprints, group jobs, write context, reduce results)."""
    stage = [r for (kind, _), r in zip(work, done) if kind != "sha256"]
    known.update({r.source_id: r.sha256 for r in stage if r.sha256 is not None})
    hashed = iter(r for (kind, _), r in zip(work, done) if kind == "sha256")
    fingerprints = [known[s.id] if s.id in known else next(hashed) for s in sources]
    check_staged(cfg, stage, sources, schema)

    jobs = group_jobs(cfg.out, cfg.group_by, derived, stage)
    wctx = write_context(cfg, sources, schema, stage, str(staging / "shards") if remote is None else "")
    if remote is not None:
        wctx = dataclasses.replace(wctx, upload_to=remote.url)
    tasks = batch_jobs(jobs, target_rows=batch_rows, min_tasks=4 * engine.workers)
    read_ahead(str(staging), tasks)   # a local run's reads, ahead of every task (staged_writes.py)
    reduced = engine.map(reduce_groups if remote is None else remote.task(reduce_groups), tasks, wctx, desc="write")
    return stage, fingerprints, jobs, wctx, reduced


def run_split(cfg: SplitConfig) -> SplitSummary:
    """Run one split as configured; raises a DatagenError on bad input."""
    with fewer_collections():   # gctune.py
        try:
            from datagen.contract.storage import storage_scope

            with storage_scope([*cfg.inputs, cfg.out], cfg.storage_options):  # these URLs, this run only
                return _run_split(cfg)
        finally:   # never return with an import half done: a caller's fork would inherit its lock (prewarm.py)
            prewarm.finish()


def _run_split(cfg: SplitConfig) -> SplitSummary:
    t0 = time.perf_counter()
    prewarm.start()   # pandas loads in the background while the split starts (prewarm.py)
    if is_remote(cfg.out):
        from .remote_split import run_remote_split

        return run_remote_split(cfg, t0, _split)
    sources = discover(cfg.inputs)
    out = Path(os.path.realpath(cfg.out))  # as the OS resolves it: "link/.." is the link target's parent
    check_overlap(out, cfg.inputs, sources)
    try:
        with outdir.OutDir(out) as target:
            old = target.inspect()
            if old is not None and not cfg.overwrite:
                reason = stale_reason(out, old, cfg.semantic(), [s.stamp for s in sources])
                if reason is None:
                    return SplitSummary(str(out), "up to date", old.totals.rows_written, len(old.shards),
                                        old.totals.bytes, time.perf_counter() - t0)
                raise OutputError(f"--out {str(out)!r} already holds a dataset {reason}; "
                                  "pass --overwrite to replace it")
            with Engine(cfg.scheduler, cfg.workers, cfg.progress) as engine:
                engine.with_options([*cfg.inputs, cfg.out], cfg.storage_options, sources)  # inputs read as listed
                schema, units = input_schema(cfg, engine, sources)
                target.begin()
                summary = _split(cfg, engine, sources, schema, out, t0, units)
                if old is not None:  # what only older versions list now (an overwrite deletes no file)
                    summary.unlisted_bytes = sum(s.bytes for s in old.shards if s.path not in summary.listed)
            summary.action = ("replaced" if old is not None else
                              "restarted after an interrupted split" if target.recovered else "created")
            if old is not None and summary.version == old.number:  # publish committed nothing: say so
                summary.status, summary.unlisted_bytes = "up to date", 0
                summary.action = (f"up to date: the overwrite would change nothing (version {old.number} already "
                                  "holds these shards); no new version committed")
            ended, ended_cpu = time.perf_counter(), time.process_time()
        summary.phases["cleanup"] = time.perf_counter() - ended   # the staging tree removed on leaving
        summary.cpu_phases["cleanup"] = time.process_time() - ended_cpu
        return summary
    except OSError as exc:
        error = output_error(exc, out)
        if error is None:
            raise
        raise error from None


def _split(cfg: SplitConfig, engine: Engine, sources: list[SourceFile], schema: pa.Schema, out: Path,
           t0: float, csv_blocks: dict, remote=None) -> SplitSummary:
    """The split proper; ``remote`` (remote_split.RemoteTarget) for an object-store --out."""
    staging = out / outdir.STAGING if remote is None else remote.staging
    phases, mark = {"schema": time.perf_counter() - t0}, time.perf_counter()
    cpu_phases, cpu_mark = {}, time.process_time()

    def lap(name: str) -> None:
        nonlocal mark, cpu_mark
        now, cpu = time.perf_counter(), time.process_time()
        phases[name], mark = now - mark, now
        cpu_phases[name], cpu_mark = cpu - cpu_mark, cpu
    derived = cfg.derived_group_parts(schema.names)
    batch_rows = batch_rows_for(cfg.memory_limit, schema, engine.workers)
    units = plan_units(sources, batch_rows, csv_blocks)
    range_columns = tuple(f.name for f in schema if (pa.types.is_integer(f.type) or pa.types.is_float64(f.type))
                          and f.name != cfg.time_column)
    ctx = StageContext(str(staging), schema, cfg.time_column, cfg.time_unit, cfg.timezone, tuple(cfg.group_by),
                       frozenset(derived), cfg.on_bad_time, batch_rows, range_columns if cfg.compact else (),
                       cfg.encoding, cfg.on_missing_time, naive_timezone=cfg.naive_timezone,
                       time_format=cfg.time_format)
    # fingerprinting the sources runs in the same pass, filling the gaps between stage tasks
    known = {} if remote is None else remote.known_fingerprints(sources)  # object stores: ETags, no re-read
    # a local Parquet source staged by one unit is read once for both (stage_hashed.py)
    whole = hashed_units(sources, units, schema, batch_rows) if remote is None else set()
    units, whole = split_tail(units, whole, engine.workers)   # the step ends with short tasks (stage_tail.py)
    once = {u.source_id for u in units if u.index in whole}
    work = stage_work(sources, units, whole, known, once)
    # on the local scheduler, staged batches may stay in this process's memory (stage_memory.py)
    local = remote is None and engine.client is None
    with kept_in_memory(str(staging), cfg.staging_memory if local else 0), \
            writing_staged(str(staging), local) as writes, shared_marks(str(staging / "shards"), local) as marks:
        with reading_ahead(_stage_or_fingerprint, work) as ahead:   # readahead.py (local runs only)
            done = engine.map(ahead if local else _stage_or_fingerprint if remote is None else
                              remote.task(_stage_or_fingerprint), work, ctx, desc="stage")
        writes.flush(out) if writes is not None else None   # every staged file on disk before any is read
        lap("stage+hash")
        stage, fingerprints, jobs, wctx, reduced = _reduce_step(cfg, engine, sources, schema, known, work, done,
                                                                derived, staging, batch_rows, remote)
        if marks is not None:   # the tasks' shared conservation marks, as one more result (sharedmarks.py)
            reduced = [*reduced, ReduceResult(shards=[], written=marks.packed(), counts={})]
        lap("write")
    # nothing reads a staged file again: they are deleted while the driver commits (staged_drop.py)
    with StagedDrop(staged_paths(stage) if remote is None else []) as drop:
        counts = check_conservation(sources, stage, reduced)
        shard_results = [s for _, s in sorted((pair for r in reduced for pair in r.shards),
                                               key=lambda pair: (pair[0], pair[1].part))]
        shard_root = Path(wctx.shard_root)
        shard_schema = pq.read_schema(shard_root.joinpath(*shard_results[0].path.split("/"))) if remote is None \
            else remote.shard_schema(shard_results[0])

        def build(shards: list):
            return build_manifest(cfg, sources, fingerprints, counts, schema, shard_schema, dict(wctx.compression),
                                  len(jobs), shards, missing_times=sum(r.missing_count for r in stage))

        if remote is None:
            manifest = publish(out, shard_root, shard_results, build, command="overwrite" if cfg.overwrite else "split",
                               settings=cfg.semantic(), before_cleanup=drop.join)
        else:
            manifest = remote.publish(shard_results, build)
    lap("publish")
    return SplitSummary(str(out), "written", manifest.totals.rows_written, len(manifest.shards),
                        manifest.totals.bytes, time.perf_counter() - t0,
                        notes=split_notes(cfg, jobs, schema, sum(r.naive_count for r in stage), bool(derived), manifest),
                        listed=frozenset(s.path for s in manifest.shards), phases=phases,
                        cpu_phases=cpu_phases, version=manifest.number)
