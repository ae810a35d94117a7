"""``split-datasets NEW_INPUTS --out DIR --append``: add rows to a dataset as a new version.

Under the same lock and journal as a split (outdir.py): the settings come from the manifest
(append_rules.py refuses a different one, or a column the shards cannot hold); a source whose
sha256 the manifest already holds is skipped with a message (nothing new: no commit, exit 0).
The new sources are staged and reduced as in a split, their ``_source_id`` continuing the
dataset's numbering and their part numbers continuing each group directory's; the shards the
dataset has are never rewritten or moved. publish.py commits version N+1: the new shards, the
record of what was added, then ``manifest.json`` (old shards + new ones, old sources + new ones).
Work is in proportion to the new rows (plus one read of the manifest).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from datagen._version import __version__
from datagen.contract.errors import OutputError, SchemaError
from datagen.contract.gcpause import gc_frozen, gc_paused
from datagen.contract.format import ColumnEntry, Manifest, ShardEntry, SourceEntry, Totals, is_text
from datagen.contract.manifest_fast import ShardFacts

from . import outdir
from .append_conform import conform_schema, stored_type
from .append_parent import TableParent, read_parent
from .append_reads import append_input_schema
from .run_notes import label_notes
from .append_rules import AppendCasts, append_casts, append_config, refuse_changed_paths
from .config import SplitConfig
from .conservation import check_conservation
from .engine import Engine
from .oserrors import output_error
from .overlap import check_overlap
from .plan import batch_jobs, batch_rows_for, group_jobs, plan_units
from .publish import publish
from .reduce import reduce_groups
from .sources import SourceFile, discover, fingerprint
from .split import SplitSummary
from .stage import StageContext, stage_unit
from .stage_outcome import check_staged
from .writeplan import measured_ranges, write_context


def run_append(options: dict) -> SplitSummary:
    """Append ``options["inputs"]`` to the dataset in ``options["out"]``; ``options`` holds only what
    the user gave (the rest comes from the manifest)."""
    from datagen.contract.storage import check_storage_options, refuse_object_store, storage_scope

    refuse_object_store(options["out"], "--append")
    # the bucket inputs are listed and read here too with the options given for them (as run_split does);
    # checked first, as SplitConfig checks them (append_config checks them again, with the rest)
    given = check_storage_options(options.get("storage_options"))
    with storage_scope([*options["inputs"], options["out"]], given):
        return _run_append(options)


def _run_append(options: dict) -> SplitSummary:
    t0 = time.perf_counter()
    out = Path(os.path.realpath(options["out"]))
    sources = discover(options["inputs"])
    check_overlap(out, options["inputs"], sources)
    try:
        with outdir.OutDir(out) as target:
            if not os.path.lexists(out / "manifest.json"):
                raise OutputError(f"--append: --out {str(out)!r} holds no dataset to append to; split into it "
                                  "without --append first")
            with gc_paused():   # no collection between the read and the freeze
                parent = target.inspect(read_parent)   # checked in full; its shards as a table when it can
            old = parent.head if isinstance(parent, TableParent) else parent   # (with no shards then)
            with gc_frozen():   # the parent manifest lives until the commit: not traversed again and again
                cfg = append_config(old, options, str(out))
                with Engine(cfg.scheduler, cfg.workers, cfg.progress) as engine:
                    engine.with_options([*options["inputs"], str(out)], cfg.storage_options, sources)  # inputs as listed
                    digests = engine.map(fingerprint, [s.url for s in sources], desc="sha256")
                    known = {s.sha256: s.id for s in old.sources}
                    refuse_changed_paths(old, sources, digests, str(out))
                    new, fingerprints, skipped = [], [], []
                    for src, digest in zip(sources, digests):
                        if digest in known:
                            skipped.append(f"skipped {src.url}: already in the dataset (same sha256 as source "
                                           f"{known[digest]})")
                            continue
                        known[digest] = len(old.sources) + len(new)
                        new.append(dataclasses.replace(src, id=len(new)))
                        fingerprints.append(digest)
                    if not new:
                        summary = SplitSummary(str(out), "nothing to append", 0, 0, 0, time.perf_counter() - t0)
                        summary.action = "\n".join(skipped)
                        return summary
                    schema, csv_units = append_input_schema(cfg, engine, new, old, str(out))
                    casts = append_casts(old, cfg, schema, str(out), all(s.format == "csv" for s in new))
                    schema, time_cast = conform_schema(old, cfg.time_column, schema, new, str(out))
                    if time_cast is not None:
                        casts.casts.append(time_cast)
                    target.begin()
                    summary = _append(cfg, engine, parent, new, fingerprints, schema, csv_units, casts, out, t0)
                summary.action = "\n".join(skipped)
                return summary
    except OSError as exc:
        error = output_error(exc, out)
        if error is None:
            raise
        raise error from None


def _part_start(old: Manifest | TableParent, dirs: set[str]) -> tuple[tuple[str, int], ...]:
    """(group dir, next part number) of the group dirs the append writes into (only those: this
    travels with every write task)."""
    if isinstance(old, TableParent):
        return tuple(sorted(old.next_parts(dirs).items()))
    nxt: dict[str, int] = {}
    for s in old.shards:
        d = s.path.rpartition("/")[0]  # posixpath.dirname of a manifest's shard path, without its per-call work
        if d not in dirs:
            continue
        nxt[d] = max(nxt.get(d, 0), s.part + 1)
    return tuple(sorted(nxt.items()))


def _coarse_unit(casts: AppendCasts, time_column: str | None, old: Manifest, schema) -> str | None:
    """What the dataset's time column keeps of text times: "s" or "ms" when they are cast into that unit at
    write time, "day" when it holds dates (the stage step writes each date), else None."""
    if time_column is None or time_column not in schema.names:
        return None
    if is_text(schema.field(time_column).type) and \
            next((c.type for c in old.schema if c.name == time_column), None) == "date32[day]":
        return "day"
    stored = stored_type(dict(casts.casts).get(time_column, ""))
    return stored.unit if stored is not None and pa.types.is_timestamp(stored) and stored.unit in ("s", "ms") else None


def _append(cfg: SplitConfig, engine: Engine, parent: Manifest | TableParent, sources: list[SourceFile],
            fingerprints: list[str], schema, csv_units: dict, casts: AppendCasts, out: Path, t0: float) -> SplitSummary:
    old = parent.head if isinstance(parent, TableParent) else parent   # its shards: ``parent``'s
    staging = out / outdir.STAGING
    offset = len(old.sources)
    derived = cfg.derived_group_parts(schema.names)
    batch_rows = batch_rows_for(cfg.memory_limit, schema, engine.workers)
    ctx = StageContext(str(staging), schema, cfg.time_column, cfg.time_unit, cfg.timezone, tuple(cfg.group_by),
                       frozenset(derived), cfg.on_bad_time, batch_rows, tuple(casts.checks), cfg.encoding,
                       cfg.on_missing_time, source_id_offset=offset, naive_timezone=cfg.naive_timezone,
                       keep_unit=_coarse_unit(casts, cfg.time_column, old, schema), time_format=cfg.time_format)
    stage = engine.map(stage_unit, plan_units(sources, batch_rows, csv_units), ctx, desc="stage")
    check_staged(cfg, stage, sources, schema, appending=True)
    casts.check_ranges(measured_ranges(stage), str(out))
    jobs = group_jobs(str(out), cfg.group_by, derived, stage)
    wctx = write_context(cfg, sources, schema, stage, str(staging / "shards"), dict(old.codecs))
    wctx = dataclasses.replace(wctx, casts=tuple(casts.casts), source_id_offset=offset, part_start=_part_start(parent, {j.rel_dir for j in jobs}),
                               compression=tuple(old.codecs.items()) or wctx.compression)
    reduced = engine.map(reduce_groups, batch_jobs(jobs, target_rows=batch_rows, min_tasks=4 * engine.workers),
                         wctx, desc="write")
    counts = check_conservation(sources, stage, reduced)
    staged = [s for _, s in sorted((pair for r in reduced for pair in r.shards), key=lambda p: (p[0], p[1].part))]
    shard_root = Path(wctx.shard_root)
    written_schema = [ColumnEntry.of(f.name, f.type)
                      for f in pq.read_schema(shard_root.joinpath(*staged[0].path.split("/")))]
    if written_schema != old.schema:  # conform_schema makes them equal; a last guard before the commit
        have = {c.name: c.type for c in written_schema}
        c = next((c for c in old.schema if have.get(c.name) != c.type), old.schema[0])
        raise SchemaError(f"--append: column {c.name!r} would be written as {have.get(c.name, 'missing')} but is "
                          f"{c.type} in the dataset in {str(out)!r}; convert the input or split into a new --out")
    entries = [SourceEntry(s.id + offset, s.url, s.format, s.bytes, s.mtime, s.etag, fingerprints[s.id],
                           counts[s.id][0], counts[s.id][2], version_id=s.version) for s in sources]

    def build(shards: list[ShardEntry]) -> Manifest:
        """The new manifest of ``shards``: all of them (a typed parent's, then the added), or the added ones
        only after a :class:`TableParent`'s (its totals then from the checked parent's and theirs)."""
        all_sources = old.sources + entries
        config = {**old.config, "inputs": list(old.config.get("inputs", [])) + list(cfg.inputs)}
        facts, count = ShardFacts.of_entries(shards), len(shards)
        if isinstance(parent, TableParent):
            facts, count = parent.facts + facts, parent.size + count
        return dataclasses.replace(
            old, tool_version=__version__, config=config, sources=all_sources, shards=shards,
            created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            totals=Totals(rows_read=sum(s.rows_read for s in all_sources),
                          rows_written=facts.rows,
                          rows_dropped=sum(s.rows_dropped for s in all_sources), shards=count,
                          groups=facts.groups, bytes=facts.bytes,
                          missing_times=None if cfg.time_column is None else
                          (old.totals.missing_times or 0) + sum(r.missing_count for r in stage)))

    settings = {**cfg.semantic(), "inputs": list(cfg.inputs)}
    manifest = publish(out, shard_root, staged, build, command="append", settings=settings, replace_all=False,
                       keep=() if isinstance(parent, TableParent) else parent.shards, prev=parent)
    added = manifest.shards[len(manifest.shards) - len(staged):]
    summary = SplitSummary(str(out), f"appended (version {manifest.version})", sum(s.rows for s in added),
                           len(added), sum(s.bytes for s in added), time.perf_counter() - t0,
                           notes=label_notes(cfg.label, added))
    return summary
