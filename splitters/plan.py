"""Planning the split's tasks: how many rows a staged batch holds (from the memory limit),
the stage step's work units (a CSV block, see csvscan.py, or a run of Parquet row groups), one reduce job
per distinct group value (with its shard directory, checked against the filesystem's
limits before any shard is written) and the reduce tasks (batches of jobs)."""

from __future__ import annotations

import os

import pyarrow as pa

from datagen.contract.errors import ColumnError
from datagen.contract.hive import group_dir
from datagen.contract.jsonspec import MAX_GROUP_TEXT
from datagen.contract.longvalues import is_shortened
from datagen.contract.packing import pack_in_order

from . import outdir
from .groupvalues import canonical, check_distinct_dirs, check_path_length, folds_names, json_value, path_max, sort_key
from .reduce import GroupJob
from .sources import SourceFile, parquet_file
from .stage import StageResult, WorkUnit
from .timekeys import derived_value

MIN_BATCH_ROWS = 16_384
MAX_BATCH_ROWS = 1 << 20
LINEAGE_BYTES = 16        # _source_id and _source_row, per staged row
UNSIZED_COLUMN_BYTES = 32  # a guess for a column of variable width (text, binary)
_MEMO_TYPES = (int, str, bool, type(None))   # group values whose equality is identity of the stored value


def staged_row_bytes(schema: pa.Schema) -> int:
    """An estimate of the bytes one row takes in a staged batch: fixed-width columns at their
    width, variable-width ones at a guess, plus the lineage columns."""
    total = LINEAGE_BYTES
    for f in schema:
        try:
            total += max(1, f.type.bit_width // 8)
        except ValueError:
            total += UNSIZED_COLUMN_BYTES
    return total


def batch_rows_for(memory_limit: int, schema: pa.Schema, workers: int) -> int:
    """Rows per staged batch so that every worker's copies fit in the memory limit."""
    per_worker = memory_limit // max(1, workers)
    rows = per_worker // (staged_row_bytes(schema) * 10)
    return int(min(MAX_BATCH_ROWS, max(MIN_BATCH_ROWS, rows)))


def plan_units(sources: list[SourceFile], batch_rows: int, csv_units: dict | None = None) -> list[WorkUnit]:
    """The stage step's work units: a CSV block each (``csv_units``: source id -> [(block, first row,
    read types)], see csvtypes.py), Parquet row groups packed up to ``batch_rows``."""
    units: list[WorkUnit] = []
    for src in sources:
        if src.format == "csv":
            for block, first, types in (csv_units or {})[src.id]:
                units.append(WorkUnit(len(units), src.id, src.url, "csv", (), first, block, types))
            continue
        meta = parquet_file(src.url).metadata
        first = 0
        for group, rows in pack_in_order(range(meta.num_row_groups), lambda rg: meta.row_group(rg).num_rows,
                                         batch_rows):
            units.append(WorkUnit(len(units), src.id, src.url, "parquet", tuple(group), first))
            first += rows
    return units


def group_jobs(out: str, group_by: list[str], derived: set[str], results: list[StageResult]) -> list[GroupJob]:
    """One job per distinct stored group value (keys equal as stored are merged, NaN == NaN);
    refuses, before any shard is written, a group whose path would not fit the filesystem."""

    def stored(key: tuple) -> tuple:
        return tuple((None if v is None else derived_value(g, v)) if g in derived else json_value(v)
                     for g, v in zip(group_by, key))

    slices: dict[tuple, list] = {}
    first_key: dict[tuple, tuple] = {}
    seen: dict[tuple, tuple] = {}   # a stage key (with each value's type) -> its canonical stored key
    for r in sorted(results, key=lambda r: r.unit):
        for f in r.files:
            for key, offset, count in f.groups:
                # every unit stages the same groups: a key of ints, text or nulls (calendar parts, most plain
                # columns) is worked out once; its values' types are part of the memo (1 and True stay apart)
                typed = tuple((type(v), v) for v in key) if all(type(v) in _MEMO_TYPES for v in key) else None
                canon = seen.get(typed) if typed is not None else None
                if canon is None:
                    canon = canonical(stored(key))
                    if typed is not None:
                        seen[typed] = canon
                first_key.setdefault(canon, key)
                slices.setdefault(canon, []).append((f.path, offset, count))
    jobs = []
    limit = path_max(out)
    for index, canon in enumerate(sorted(slices, key=lambda c: sort_key(first_key[c]))):
        values = stored(first_key[canon])
        group = dict(zip(group_by, values))
        _check_value_length(group)
        rel_dir = group_dir(group_by, values)
        check_path_length(out, rel_dir, group, limit)
        jobs.append(GroupJob(index, rel_dir, group, tuple(slices[canon])))
    # the probe file goes in the staging tree (same filesystem), which recovery after a kill clears
    check_distinct_dirs([(j.rel_dir, j.group) for j in jobs], out, folds_names(os.path.join(out, outdir.STAGING)))
    return jobs


def _check_value_length(group: dict) -> None:
    """The manifest holds every group value in full: refuse one its readers would not accept."""
    for column, value in group.items():
        if isinstance(value, str) and len(value) > MAX_GROUP_TEXT:
            raise ColumnError(f"group column {column!r} holds a value of {len(value):,} characters "
                              f"({value[:40]!r}...); at most {MAX_GROUP_TEXT:,} can name a group: group by a "
                              "shorter column")


def shortened_note(jobs: list[GroupJob]) -> tuple[str, ...]:
    """A note for the split's output when some group directories are shortened (longvalues.py)."""
    short = [j for j in jobs if is_shortened(j.rel_dir)]
    if not short:
        return ()
    return (f"{len(short):,} of {len(jobs):,} group directories are shortened with a hash of a value too long for "
            f"a directory name (e.g. {short[0].rel_dir[:60]!r}...); the manifest keeps the full values",)


def job_rows(job: GroupJob) -> int:
    return sum(c for _, _, c in job.slices)


def batch_jobs(jobs: list[GroupJob], target_rows: int, min_tasks: int) -> list[list[GroupJob]]:
    """Reduce tasks: jobs packed in order up to ``target_rows`` (fewer when that makes fewer than
    ``min_tasks`` tasks), biggest first, so the last tasks to finish are short ones. The jobs of the
    last ``min_tasks // 4`` tasks' worth of rows (one per worker) go in tasks of a quarter of that
    size: the phase ends when its last task does, and a short last task leaves no core idle long."""
    total = sum(job_rows(j) for j in jobs)
    per_task = max(1, min(target_rows, -(-total // max(1, min_tasks))))
    tail_rows = per_task * max(1, min_tasks // 4)
    head, tail, seen = [], [], 0
    for job in jobs:   # in group order: which task a group lands in never changes a shard's bytes
        (head if seen < total - tail_rows else tail).append(job)
        seen += job_rows(job)
    batches = [batch for batch, _ in pack_in_order(head, job_rows, per_task)] + \
        [batch for batch, _ in pack_in_order(tail, job_rows, max(1, per_task // 4))]
    batches.sort(key=lambda b: -sum(job_rows(j) for j in b))
    return batches


def stage_work(sources: list[SourceFile], units: list, whole: set, known: dict, once: set) -> list[tuple]:
    """The stage step's tasks in the order they start: each source's units, then (unless its fingerprint
    is known or a unit reads it whole) the task that fingerprints it, which then re-reads a file the
    page cache still holds instead of one the later units' reads have pushed out."""
    per_source: dict[int, list] = {}
    for u in units:
        per_source.setdefault(u.source_id, []).append(u)
    work = []
    for s in sources:
        work += [("stage+sha256" if u.index in whole else "stage", u) for u in per_source.get(s.id, [])]
        if s.id not in known and s.id not in once:
            work.append(("sha256", s.url))
    return work
