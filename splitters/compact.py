"""Compaction: merge the part files of each group into one shard, as a new version.

``python -m splitters.compact DIR`` (``datagen compact DIR`` runs it: the datagen package never
imports splitters, and compaction is a commit, which the splitter's lock, journal and publish
own). In every group directory with more than one part, consecutive parts are merged while the
merged shard stays within ``max_rows_per_shard`` (no limit when the dataset has none); their rows
are kept, ordered by time (stable: equal times keep their order), with their lineage columns, so
provenance does not change. The merged shard gets the next part number of its directory (a name
no version used); the commit's record removes the merged parts and adds the new shard. No file is
deleted (older versions still read them; ``datagen vacuum`` frees them). Nothing to merge: no commit.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
import posixpath
import signal
import sys
import time
from pathlib import Path

import click
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datagen._version import __version__
from datagen.contract.cli_edge import Command, Terminated, report_errors, tell_parent_ready
from datagen.contract.errors import ConservationError, DatagenError, OutputError
from datagen.contract.lineageseen import LineageSeen
from datagen.contract.shardcheck import ShardProblem
from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN, Manifest, ShardEntry
from datagen.contract.nancount import with_nan_counts

from . import outdir
from .publish import publish
from .missing_times import MISSING_TIME, time_range
from .reduce import _label_counts
from .shard_encoding import write_options
from .timekeys import parse_times
from .timescale import resolution


def _runs(parts: list[ShardEntry], limit: int | None) -> list[list[ShardEntry]]:
    """Consecutive parts merged while the total stays within ``limit``; only runs of two or more."""
    runs, current = [], []
    for s in sorted(parts, key=lambda s: s.part):
        if current and limit is not None and sum(p.rows for p in current) + s.rows > limit:
            runs.append(current)
            current = []
        current.append(s)
    runs.append(current)
    return [r for r in runs if len(r) > 1]


def _shard_order(table: pa.Table, time_column: str | None):
    """(row order, time ticks or None, their resolution) of a merged shard, as a split orders one:
    time (rows without a time last), then source file, then source row; without a time column,
    source file and row."""
    keys = [table.column(SOURCE_ROW_COLUMN).to_numpy(), table.column(SOURCE_ID_COLUMN).to_numpy()]
    if time_column is None:
        return np.lexsort(keys), None, "us"
    column = table.column(time_column)
    res = resolution(column.type, None)
    parsed = parse_times(column, None, res)   # the stored type: only nulls fail (missing times)
    ticks = np.where(parsed.bad, MISSING_TIME, parsed.ns)
    return np.lexsort(keys + [ticks]), ticks, res


def _lineage_unique(table: pa.Table, run: list[ShardEntry], seen: LineageSeen, m: Manifest) -> None:
    """The parts being merged name each (source, row) once, within the manifest's sources (and across
    every run of this compaction): a copied part would otherwise have its rows merged twice."""
    ids = table.column(SOURCE_ID_COLUMN).to_numpy(zero_copy_only=False).astype(np.int64)
    rows = table.column(SOURCE_ROW_COLUMN).to_numpy(zero_copy_only=False).astype(np.int64)
    reads = np.asarray([s.rows_read for s in m.sources], dtype=np.int64)
    names = ", ".join(repr(s.path) for s in run)
    if len(ids) and ((ids < 0).any() or (ids >= len(reads)).any() or (rows < 0).any() or (rows >= reads[ids]).any()):
        raise ConservationError(f"compact refused: the parts {names} name rows the manifest's sources do not "
                                "hold; check the dataset with datagen verify")
    try:
        seen.add(run[0], ids, rows)
    except ShardProblem as exc:
        raise ConservationError(f"compact refused: the parts {names} repeat a lineage row ({exc.line}); "
                                "check the dataset with datagen verify") from None


def _merge(out: Path, run: list[ShardEntry], part: int, m: Manifest, root: Path, seen: LineageSeen) -> ShardEntry:
    table = pa.concat_tables([pq.read_table(out / s.path) for s in run])
    if table.num_rows != sum(s.rows for s in run):
        raise ConservationError(f"compact refused: the parts {', '.join(repr(s.path) for s in run)} hold "
                                f"{table.num_rows:,} rows, the manifest says {sum(s.rows for s in run):,}")
    _lineage_unique(table, run, seen, m)
    order, ticks, res = _shard_order(table, m.time_column)
    table = with_nan_counts(table.take(pa.array(order)))  # the merged shard's own NaN counts
    rel = f"{posixpath.dirname(run[0].path)}/part-{part:05d}.parquet"
    dest = root.joinpath(*rel.split("/"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    sink = pa.BufferOutputStream()
    collected: list = []
    pq.write_table(table, sink, metadata_collector=collected,
                   **write_options(table.schema, m.codecs, int(m.config.get("row_group_size", 65_536))))
    data = sink.getvalue()
    dest.write_bytes(data)
    if table.num_rows != sum(s.rows for s in run):
        raise ConservationError(f"compaction of {rel!r}: {table.num_rows:,} rows for {sum(s.rows for s in run):,}")
    meta = collected[0]
    time_min, time_max = time_range(None if ticks is None else ticks[order], res)
    return ShardEntry(path=rel, group=run[0].group, part=part, rows=table.num_rows, bytes=data.size,
                      sha256=hashlib.sha256(data).hexdigest(),
                      row_groups=[meta.row_group(i).num_rows for i in range(meta.num_row_groups)],
                      time_min=time_min, time_max=time_max,
                      label_counts=_label_counts(table.column(m.label_column)) if m.label_column else None)


def run_compact(directory: str, started: dict | None = None) -> tuple[Manifest | None, int, int]:
    """Compact ``directory``; (the new manifest or None when there was nothing to merge, parts merged,
    shards written). ``started`` gets the version compacted ("version"), once the lock is held."""
    from datagen.contract.storage import refuse_object_store

    refuse_object_store(directory, "datagen compact")
    out = Path(os.path.realpath(directory))
    if not (out / "manifest.json").exists():
        raise OutputError(f"{directory!r} holds no dataset (no manifest.json) to compact")
    directory_life = outdir.OutDir(out)
    directory_life.lock.command = "datagen compact"  # named to whoever finds the directory locked
    with directory_life as target:
        old = target.inspect()
        if started is not None:
            started["version"] = old.version
        limit = old.config.get("max_rows_per_shard")
        by_dir: dict[str, list[ShardEntry]] = {}
        for s in old.shards:
            by_dir.setdefault(posixpath.dirname(s.path), []).append(s)
        runs = [r for parts in by_dir.values() for r in _runs(parts, limit)]
        if not runs:
            return None, 0, 0
        target.begin()
        root = out / outdir.STAGING / "shards"
        next_part = {d: max(s.part for s in parts) + 1 for d, parts in by_dir.items()}
        staged, seen = [], LineageSeen(old)
        for run in runs:
            d = posixpath.dirname(run[0].path)
            staged.append(_merge(out, run, next_part[d], old, root, seen))
            next_part[d] += 1
        merged = {s.path for r in runs for s in r}
        kept = [s for s in old.shards if s.path not in merged]
        if sum(s.rows for s in kept + staged) != old.totals.rows_written:
            raise ConservationError(f"compact refused: {sum(s.rows for s in kept + staged):,} rows out for "
                                    f"{old.totals.rows_written:,} in")

        def build(shards: list[ShardEntry]) -> Manifest:
            return dataclasses.replace(old, shards=shards, tool_version=__version__,
                                       created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                                       totals=dataclasses.replace(old.totals, shards=len(shards),
                                                                  bytes=sum(s.bytes for s in shards)))

        manifest = publish(out, root, staged, build, command="compact",
                           settings={"max_rows_per_shard": limit}, replace_all=False, keep=kept, prev=old)
        return manifest, len(merged), len(staged)


def _ignore_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def _committed(directory: str, started: dict) -> int | None:
    """The version this compaction committed: the current one when it is newer than the one it began from
    (read under its lock; the journal settled the commit when the lock was released)."""
    from datagen.contract.manifest import read_manifest

    if started.get("version") is None:
        return None
    try:
        now = read_manifest(directory)
    except (DatagenError, OSError):
        return None
    return now.version if now.version > started["version"] else None


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("directory")
@report_errors
def main(directory):
    """Merge the part files of each group of DIRECTORY into one shard (a new version)."""
    tell_parent_ready()   # datagen compact forwards a Ctrl-C from here on (datagen/app/child.py)
    t0, started = time.perf_counter(), {}
    try:
        manifest, merged, written = run_compact(directory, started)
        _ignore_signals()  # done (committed, or nothing to do): that is what is reported
    except (Terminated, KeyboardInterrupt):  # the journal has settled it: a commit that happened is a success
        _ignore_signals()
        committed = _committed(directory, started)
        if committed is None:
            raise
        click.echo(f"compacted (version {committed}): committed before the signal arrived -> {directory}")
        return
    if manifest is None:
        click.echo(f"nothing to compact: no group of {directory} has several part files; no new version committed")
        return
    click.echo(f"compacted (version {manifest.version}): {merged:,} part files merged into {written:,} shards in "
               f"{time.perf_counter() - t0:.1f} s -> {directory}")
    click.echo(f"the merged part files stay for older versions; free them with: datagen vacuum {directory} --keep 1")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:], prog_name="split-datasets-compact")
