"""The error of ``--on-missing-time error``: how many rows have no time, and the first of them
(file and data row, 0-based as ``_source_row``), with the ways out."""

from __future__ import annotations

from datagen.contract.errors import TimeParseError

from .sources import SourceFile
from .stage import StageResult


def missing_time_error(time_column: str, results: list[StageResult], sources: list[SourceFile]) -> TimeParseError:
    total = sum(r.missing_count for r in results)
    first = min((r.source_id, r.unit, r.missing_first) for r in results if r.missing_first is not None)
    where = f"{sources[first[0]].url}:row {first[2]}"
    return TimeParseError(f"{total:,} rows have no time (empty, NA or null) in column {time_column!r} (first: {where}); "
                          "fill them in, or pass --on-missing-time group (a null group) or drop")
