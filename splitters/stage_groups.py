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
from .timekeys import derived_part
from .timescale import resolution, to_us, wall_clock

if TYPE_CHECKING:
    from .stage import StageContext


def _derived(name: str, local: np.ndarray, missing: np.ndarray | None):
    part = derived_part(name, local)
    return part if missing is None else pa.array(part, mask=missing)


def group_keys(table: pa.Table, ns: np.ndarray | None, url: str, ctx: StageContext) -> tuple[np.ndarray, list[tuple], np.ndarray]:
    """(row order grouped by key, each group's key values, rows per group) for one batch of
    input ``url`` whose times are ``ns`` (UTC ticks at the split's resolution, see timescale.py;
    None without a time column)."""
    missing = missing_in(ns) if ctx.derived else None
    if missing is not None:  # calendar parts of a missing time are null (missing_times.py)
        ns = np.where(missing, 0, ns)
    local = None
    if ctx.derived:  # calendar parts from wall-clock microseconds (stage_times dropped those outside 1..9999)
        res = resolution(ctx.schema.field(ctx.time_column).type, ctx.time_unit)
        local = wall_clock(to_us(ns, res), ctx.timezone)[0]
    keys = [_derived(g, local, missing) if g in ctx.derived else table.column(g) for g in ctx.group_by]
    try:
        return group_rows(keys)
    except GroupValueError as exc:
        raise SourceError(f"input {url!r}: group column {ctx.group_by[exc.column]!r} holds {exc.value}, "
                          "which cannot name a group (dates and times must lie in years 1..9999)") from None
