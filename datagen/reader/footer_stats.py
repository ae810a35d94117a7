"""What the selected shards' Parquet footers tell about a column, summarised once at construction.

Per column, over every row group of every selected shard: the null count, the min and max
(``None`` when any row group lacks them, so a check that needs them falls back to the
per-batch check), and the largest ``total_uncompressed_size / num_rows`` of a row group's
column chunk (the bytes one row of it takes once decoded, before per-value overheads). NaN
counts come from the shard's ``datagen.nan_counts`` key (contract/nancount.py; None when a shard
was written without it) with the first shard holding a NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datagen.contract.nancount import nan_counts


@dataclass
class ColumnStats:
    nulls: int | None = 0            # None: some row group has no null count
    low: Any = None                  # None (with high): some row group has no min/max
    high: Any = None
    bytes_per_row: float = 0.0       # largest uncompressed bytes per row of a row group
    known_range: bool = True
    nans: int | None = 0             # None: some shard has no recorded NaN counts
    nan_shard: str | None = None     # the first shard (in the order given) holding a NaN


def footer_stats(footers: list, columns: list[str], paths: list[str] | None = None) -> dict[str, ColumnStats]:
    """Summaries of ``columns`` (top-level leaves) over the footers (``FileMetaData``) of the shards
    (named by ``paths``, in the same order, in messages)."""
    out = {c: ColumnStats() for c in columns}
    for n, meta in enumerate(footers):
        if meta is None:
            continue
        _add_nans(out, nan_counts(meta), paths[n] if paths else f"#{n}")
        leaves = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            for name, s in out.items():
                if name not in leaves:
                    s.nulls, s.known_range = None, False
                    continue
                chunk = group.column(leaves[name])
                if group.num_rows:
                    s.bytes_per_row = max(s.bytes_per_row, chunk.total_uncompressed_size / group.num_rows)
                _add(s, chunk.statistics if chunk.is_stats_set else None, group.num_rows)
    return out


def _add_nans(out: dict[str, ColumnStats], counts: dict[str, int] | None, shard: str) -> None:
    for name, s in out.items():
        if counts is None:
            s.nans = None
        elif s.nans is not None:
            found = counts.get(name, 0)  # a column the key does not list is not a float column here
            s.nans += found
            if found and s.nan_shard is None:
                s.nan_shard = shard


def _add(s: ColumnStats, stats, rows: int) -> None:
    if stats is None or not stats.has_null_count:
        s.nulls = None
    elif s.nulls is not None:
        s.nulls += stats.null_count
    if stats is not None and stats.has_null_count and stats.null_count == rows:
        return  # all null: no min/max to take
    if stats is None or not stats.has_min_max:
        s.known_range = False
        return
    try:
        low, high = stats.min, stats.max
        s.low = low if s.low is None else min(s.low, low)
        s.high = high if s.high is None else max(s.high, high)
    except Exception:  # a type without a usable order (never for the numeric types it is used on)
        s.known_range = False


def value_range(s: ColumnStats | None) -> tuple[Any, Any] | None:
    """(min, max) of a column's non-null values when every row group stated them, else None."""
    if s is None or not s.known_range or s.low is None:
        return None
    return s.low, s.high
