"""What the stage step found that stops a split or an append before anything is written: bad or
missing times (with --on-bad-time/--on-missing-time error), no rows at all, or every row dropped.
The split (split.py) and the append (append.py) both check their staged results here."""

from __future__ import annotations

import pyarrow as pa

from datagen.contract.errors import SourceError, TimeParseError

from .config import SplitConfig
from .missing_report import missing_time_error
from .sources import SourceFile
from .stage import StageResult
from .timescale import RANGE_TEXT, resolution


def check_staged(cfg: SplitConfig, stage: list[StageResult], sources: list[SourceFile], schema: pa.Schema,
                 appending: bool = False) -> int:
    """The rows the stage step read, or the one-line error that stops the run (``appending``: the
    messages speak of the new input)."""
    if cfg.on_bad_time == "error" and any(r.bad_count for r in stage):
        raise bad_time_error(cfg, stage, sources, resolution(schema.field(cfg.time_column).type, cfg.time_unit))
    if cfg.on_missing_time == "error" and any(r.missing_count for r in stage):
        raise missing_time_error(cfg.time_column, stage, sources)
    rows_read = sum(r.rows_read for r in stage)
    what, rows, nothing = ("new input", "new rows", "append") if appending else ("input", "input rows", "write")
    if rows_read == 0:
        raise SourceError(f"the {what} holds no rows ({len(sources)} file(s), e.g. {sources[0].url!r})")
    if all(not r.files for r in stage):
        raise SourceError(f"all {rows_read:,} {rows} were dropped for unparseable or missing times "
                          f"(--on-bad-time / --on-missing-time drop); nothing to {nothing}")
    return rows_read


_UNITS = {"s": "second", "ms": "millisecond"}


def bad_time_error(cfg: SplitConfig, results: list[StageResult], sources: list[SourceFile],
                    res: str) -> TimeParseError:
    total = sum(r.bad_count for r in results)
    samples = []
    for r in results:
        for row, value in r.bad_samples:
            samples.append(f"{sources[r.source_id].url}:row {row}: {value}")
    shown = "; ".join(samples[:3])
    outside = sum(r.outside_count for r in results)
    finer = sum(r.finer_count for r in results)
    coarse = sum(r.coarse_count for r in results)
    kept = next((r.keep_unit for r in results if r.keep_unit), "")
    if outside or finer or coarse:
        zone = f", also as a wall-clock time in --timezone {cfg.timezone}" if cfg.timezone != "UTC" else ""
        why = [f"{outside:,} outside the supported range {RANGE_TEXT[res]}{zone}"] if outside else []
        if finer:
            why.append(f"{finer:,} with digits finer than a microsecond: pass --time-unit ns to keep nanoseconds "
                       f"(times then lie in {RANGE_TEXT['ns']})")
        if coarse:
            why.append(f"{coarse:,} with a time of day, which the dataset's date time column cannot keep" if kept == "day"
                       else f"{coarse:,} with digits below a {_UNITS.get(kept, 'unit')}, which the dataset's time "
                       "column cannot keep")
        return TimeParseError(f"{total:,} rows have a time in column {cfg.time_column!r} that cannot be parsed or "
                              f"represented ({'; '.join(why)}) "
                              f"(first: {shown}); fix them or pass --on-bad-time drop")
    if cfg.time_format:
        return TimeParseError(f"{total:,} rows have a time in column {cfg.time_column!r} that does not match "
                              f"--time-format {cfg.time_format!r} (first: {shown}); fix them or the format, or pass "
                              "--on-bad-time drop")
    return TimeParseError(f"{total:,} rows have a time in column {cfg.time_column!r} that cannot be parsed "
                          f"(first: {shown}); fix them, pass --time-format for times not in ISO-8601 (e.g. "
                          "'%m/%d/%Y %I:%M:%S %p'), or pass --on-bad-time drop")
