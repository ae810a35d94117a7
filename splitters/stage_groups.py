"""Stage step, second part of a batch: each row's group. The key columns are the calendar
parts derived from the time (in ``--timezone``) and the plain group columns; groupkeys.py
says how their values are compared."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from datagen.contract.errors import SourceError

from .groupkeys import GroupValueError, group_rows
from .missing_times import missing_in
from .timekeys import DAY_PARTS, day_part, derived_part
from .timescale import US_PER_DAY, resolution, to_us, wall_clock

if TYPE_CHECKING:
    from .stage import StageContext


def _derived(part: np.ndarray, missing: np.ndarray | None):
    return part if missing is None else pa.array(part, mask=missing)


def calendar_parts(ns: np.ndarray, res: str, names, timezone: str) -> dict[str, np.ndarray]:
    """Each derived part in ``names`` per row of UTC ticks ``ns`` at resolution ``res``. In UTC, parts
    of the day only (date, weekday, year, month, day) come from one division of the ticks by the
    ticks of a day, shared by all of them (floor(floor(t / 1000) / d) = floor(t / (1000 d)))."""
    if timezone == "UTC" and set(names) <= DAY_PARTS:
        days = np.floor_divide(ns, US_PER_DAY * (1000 if res == "ns" else 1))
        return {name: day_part(name, days) for name in names}
    local = wall_clock(to_us(ns, res), timezone)[0]
    return {name: derived_part(name, local) for name in names}


def group_keys(table: pa.Table, ns: np.ndarray | None, url: str, ctx: StageContext) -> tuple[np.ndarray, list[tuple], np.ndarray]:
    """(row order grouped by key, each group's key values, rows per group) for one batch of
    input ``url`` whose times are ``ns`` (UTC ticks at the split's resolution, see timescale.py;
    None without a time column)."""
    missing = missing_in(ns) if ctx.derived else None
    if missing is not None:  # calendar parts of a missing time are null (missing_times.py)
        ns = np.where(missing, 0, ns)
    parts = {}
    if ctx.derived:  # calendar parts from wall-clock microseconds (stage_times dropped those outside 1..9999)
        res = resolution(ctx.schema.field(ctx.time_column).type, ctx.time_unit)
        parts = calendar_parts(ns, res, [g for g in ctx.group_by if g in ctx.derived], ctx.timezone)
    keys = [_derived(parts[g], missing) if g in ctx.derived else table.column(g) for g in ctx.group_by]
    try:
        return group_rows(keys)
    except GroupValueError as exc:
        raise SourceError(f"input {url!r}: group column {ctx.group_by[exc.column]!r} holds {exc.value}, "
                          "which cannot name a group (dates and times must lie in years 1..9999)") from None
