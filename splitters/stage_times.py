"""Stage step, first part of a batch: its times. Parses the time column to int64 ticks at
the split's resolution (timescale.py), counts the bad ones (with a few samples for the
error message) and the missing ones (missing_times.py), removes the rows
``--on-bad-time drop`` / ``--on-missing-time drop`` ask to drop; a time column read as text
or numbers is stored as a UTC timestamp of that resolution. Without a time column a batch
passes through unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.errors import ConfigError

from datagen.contract.format import is_text
from .localtimes import localize_times, row_kinds
from .missing_times import MISSING_TIME, missing_mask
from .timekeys import looks_numeric, parse_times
from .timescale import TICKS, resolution, wall_clock_fits

UNITS = ("s", "ms", "us", "ns")

if TYPE_CHECKING:
    from .stage import StageContext, StageResult

BAD_SAMPLES = 5


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
    if ctx.time_unit is None and is_text(column.type):
        kind = looks_numeric(column)
        if kind:
            raise ConfigError(f"time column {ctx.time_column!r} holds numbers ({kind}); pass --time-unit s|ms|us|ns")


def _below_kept(ns: np.ndarray, res: str, ctx: StageContext, time_col: pa.ChunkedArray) -> np.ndarray:
    """Rows whose text time the dataset's time column cannot keep (an --append, ``ctx.keep_unit``): digits
    below its s or ms unit, or, into a date column, anything but a calendar date."""
    if ctx.keep_unit == "day":
        dates, _ = row_kinds(time_col, np.ones(len(ns), bool), ctx.time_format)
        return ~dates
    return ns % (10 ** (3 * (UNITS.index(res) - UNITS.index(ctx.keep_unit)))) != 0


def timed_rows(table: pa.Table, rows: np.ndarray, ctx: StageContext, result: StageResult,
               dropped: list[np.ndarray]) -> tuple[pa.Table, np.ndarray | None, np.ndarray] | None:
    """(the rows to stage, their times in ns, their source rows), or None when nothing of
    this batch is to be staged (no row left, or bad or missing times are an error and some
    were found: the unit is still read to the end, to count them). Without a time column
    every row is staged and the times are None. Bad and missing times (missing_times.py) are
    counted in ``result``; the source rows dropped are appended to ``dropped``; a kept row
    with a missing time gets the time MISSING_TIME (sorted last) and a null in the shard."""
    if ctx.time_column is None:
        return table, None, rows
    time_col = table.column(ctx.time_column)
    if pa.types.is_dictionary(time_col.type):   # a categorical of text times: its values (blanks, NA words missing)
        time_col = time_col.cast(time_col.type.value_type)
    res = resolution(ctx.schema.field(ctx.time_column).type, ctx.time_unit)
    parsed = parse_times(time_col, ctx.time_unit, res, ctx.time_format)
    text = not (pa.types.is_timestamp(time_col.type) or pa.types.is_date(time_col.type))
    wall = parsed.ns.copy() if ctx.keep_unit == "day" and text else None   # a date's own ticks, before localizing
    missing = missing_mask(time_col, bool(parsed.bad.any()))
    result.naive_count += localize_times(parsed, time_col, ctx.timezone, ctx.naive_timezone,   # dates, zone-less
                                         ctx.time_format)
    ns, bad, outside = parsed.ns, parsed.bad & ~missing, parsed.outside
    if ctx.derived:  # calendar parts need a wall-clock time in years 1..9999 (only the range's ends can fail)
        unfit = ~bad & ~missing & ~wall_clock_fits(ns, res, ctx.timezone)
        if unfit.any():
            bad, outside = bad | unfit, outside | unfit
    if ctx.keep_unit is not None and text:
        below = ~bad & ~missing & _below_kept(ns, res, ctx, time_col)
        if below.any():   # the dataset keeps ms, s or dates: such a time would change when stored
            result.coarse_count += int(below.sum())
            result.keep_unit = ctx.keep_unit
            bad = bad | below
    drop = np.zeros(len(ns), bool)
    if bad.any():
        _numbers_without_unit(time_col.filter(pa.array(~missing)), ctx)   # blank cells are not "not numbers"
        idx = np.flatnonzero(bad)
        result.bad_count += len(idx)
        result.outside_count += int((outside & bad).sum())
        if parsed.finer is not None:
            result.finer_count += int((parsed.finer & bad).sum())
        for i in idx[: BAD_SAMPLES - len(result.bad_samples)]:
            result.bad_samples.append((int(rows[i]), _shown(time_col, int(i))))
        drop |= bad
    if missing.any():
        result.missing_count += int(missing.sum())
        if result.missing_first is None:
            result.missing_first = int(rows[np.argmax(missing)])
        if ctx.on_missing_time == "drop":
            drop |= missing
    if (ctx.on_bad_time == "error" and result.bad_count) or (ctx.on_missing_time == "error" and result.missing_count):
        return None
    if drop.any():
        dropped.append(rows[drop])
        keep = ~drop
        table, ns, rows, missing = table.filter(pa.array(keep)), ns[keep], rows[keep], missing[keep]
        wall = wall[keep] if wall is not None else None
        if table.num_rows == 0:
            return None
    idx = table.schema.get_field_index(ctx.time_column)
    if wall is not None:   # an --append into a date time column: each date as itself
        days = np.floor_divide(wall, TICKS[res]["s"] * 86_400).astype(np.int32)
        table = table.set_column(idx, ctx.time_column, pa.array(days, pa.date32(), mask=missing if missing.any() else None))
    elif text:
        stored = pa.array(ns, type=pa.timestamp(res, "UTC"), mask=missing if missing.any() else None)
        table = table.set_column(idx, ctx.time_column, stored)
    elif time_col.type != ctx.schema.field(idx).type:
        # a file whose timestamps have a coarser unit than the unified one: exact for every good time
        table = table.set_column(idx, ctx.time_column, table.column(idx).cast(ctx.schema.field(idx).type))
    if missing.any():
        ns = np.where(missing, MISSING_TIME, ns)
    return table, ns, rows
