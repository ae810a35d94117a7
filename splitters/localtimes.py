"""Calendar dates and zone-less times as instants, before any calendar part is derived.

- A *calendar date* (a ``date32``/``date64`` column, or ISO text that is a date only, such as
  ``2024-01-01``) has no time of day: it is read as its local midnight in ``--timezone``, so every
  part derived from it (date, year, month, day, weekday; hour 0) is the date's own in every zone.
- A *zone-less time* (a ``timestamp`` column without a time zone, ISO text with a time of day but
  no ``Z`` or offset) is a wall-clock time in ``--naive-timezone`` (default UTC).
- Text with ``Z`` or an offset, zoned timestamps and epoch numbers are instants already: unchanged.

A wall-clock time a daylight-saving change skips (02:30 on a spring-forward day) is moved forward by
the gap (03:30), one it repeats (01:30 on a fall-back day) is the earlier of its two instants: the
rule of Python's ``datetime`` with ``fold=0`` and of java.time. Where local midnight does not exist
(a change at midnight) a date starts at the first instant its day has. A date whose local midnight
lies before the range (0001-01-01 east of UTC) is read as the range's first instant, still that day;
a zone-less time whose instant leaves the range is a bad time (outside).
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.format import is_text

from .timeformat import format_kind
from .timekeys import TimeParse
from .timescale import RANGES, to_us

_EPOCH_NAIVE = _dt.datetime(1970, 1, 1)
_ONE_US = _dt.timedelta(microseconds=1)
# pandas localizes wall-clock times it can hold as int64 nanoseconds (a day kept free at both ends)
_PANDAS_LO = (_dt.datetime(1678, 1, 2) - _EPOCH_NAIVE) // _ONE_US
_PANDAS_HI = (_dt.datetime(2261, 12, 31) - _EPOCH_NAIVE) // _ONE_US
DATE_TEXT = r"^\s*[+-]?\d{4,}-\d{2}(-\d{2})?\s*$"
ZONED_TEXT = r"^\s*[+-]?\d{4,}-\d{2}-\d{2}[Tt ].*([Zz+-]|[A-Za-z]{3})"


def _python_localize(wall: np.ndarray, zone: zoneinfo.ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """UTC microseconds of wall-clock microseconds by zoneinfo (fold=0), once per distinct value;
    False where the instant leaves years 1..9999."""
    uniq, inverse = np.unique(wall, return_inverse=True)
    out = np.zeros(len(uniq), np.int64)
    ok = np.ones(len(uniq), bool)
    for i, w in enumerate(uniq.tolist()):
        try:
            local = _EPOCH_NAIVE + _dt.timedelta(microseconds=w)
            out[i] = (local - local.replace(tzinfo=zone).utcoffset() - _EPOCH_NAIVE) // _ONE_US
        except (OverflowError, ValueError):
            ok[i] = False
    return out[inverse], ok[inverse]


def localize_us(wall: np.ndarray, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """(UTC microseconds, True where representable) of wall-clock microseconds in ``timezone``, by
    the rule in the module docstring. pandas converts the times it can hold whose wall clock is
    unambiguous; zoneinfo the rest (the same tz database), once per distinct value."""
    wall = np.asarray(wall, np.int64)
    if timezone == "UTC" or len(wall) == 0:
        return wall.copy(), np.ones(len(wall), bool)
    out = np.zeros(len(wall), np.int64)
    ok = np.ones(len(wall), bool)
    rest = ~((wall >= _PANDAS_LO) & (wall < _PANDAS_HI))
    mid = np.flatnonzero(~rest)
    if len(mid):
        import pandas as pd   # imported when needed (a UTC split never pays for it)

        idx = pd.DatetimeIndex((wall[mid] * 1000).view("datetime64[ns]"))
        idx = idx.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        nat = np.asarray(idx.isna())
        out[mid] = np.floor_divide(idx.asi8, 1000)
        rest[mid[nat]] = True
    if rest.any():
        out[rest], ok[rest] = _python_localize(wall[rest], zoneinfo.ZoneInfo(timezone))
    return out, ok


def _text_kinds(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(date-only rows, zone-less rows with a time of day) of an ISO text column."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    dates = pc.match_substring_regex(column, DATE_TEXT).fill_null(False).to_numpy(zero_copy_only=False)
    zoned = pc.match_substring_regex(column, ZONED_TEXT).fill_null(False).to_numpy(zero_copy_only=False)
    return dates, ~dates & ~zoned


def row_kinds(column: pa.ChunkedArray | pa.Array, good: np.ndarray,
              time_format: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(calendar-date rows, zone-less rows) among the ``good`` (parsed) rows of a time column; text read
    by ``--time-format`` is of the kind its format says (timeformat.py)."""
    t = column.type
    none = np.zeros(len(good), bool)
    if time_format is not None and is_text(t):
        kind = format_kind(time_format)
        return (good.copy() if kind == "date" else none), (good.copy() if kind == "wall-clock" else none)
    if pa.types.is_date(t):
        return good.copy(), none
    if pa.types.is_timestamp(t):
        return none, (good.copy() if t.tz is None else none)
    if is_text(t):
        if isinstance(column, pa.Array):
            column = pa.chunked_array([column])
        dates, naive = _text_kinds(column)
        return dates & good, naive & good
    return none, none   # epoch numbers are instants


def localize_times(parsed: TimeParse, column: pa.ChunkedArray | pa.Array, timezone: str,
                   naive_timezone: str | None, time_format: str | None = None) -> int:
    """Make ``parsed.ns`` instants, in place: calendar dates local midnight in ``timezone``, zone-less
    times wall-clock times in ``naive_timezone`` (None: UTC). Zone-less times whose instant leaves
    the range become bad (``outside``). Returns the number of zone-less rows (0 when both zones are
    UTC: they are not looked for, as nothing changes)."""
    if timezone == "UTC" and naive_timezone is None:   # the default: every kind is read in UTC already
        return 0
    dates, naive = row_kinds(column, ~parsed.bad, time_format)
    scale = 1 if parsed.res == "us" else 1000
    lo, hi = RANGES[parsed.res]
    for rows, zone in ((dates, timezone), (naive, naive_timezone or "UTC")):
        if zone == "UTC" or not rows.any():
            continue
        idx = np.flatnonzero(rows)
        wall = parsed.ns[idx]
        wall_us = to_us(wall, parsed.res)
        utc_us, ok = localize_us(wall_us, zone)
        ticks = wall - (wall_us - utc_us) * scale
        ok &= (ticks >= lo) & (ticks < hi)
        if rows is dates:   # still that day: the range's first (or last) instant
            ticks = np.where(ok, ticks, np.where(wall < lo + (hi - lo) // 2, lo, hi - 1))
            ok[:] = True
        parsed.ns[idx] = np.where(ok, ticks, 0)
        parsed.bad[idx[~ok]] = True
        parsed.outside[idx[~ok]] = True
    return int(naive.sum())


def zone_notes(time_column: str | None, time_type: pa.DataType | None, timezone: str | None,
               naive_timezone: str | None, naive_rows: int, derived: bool = True) -> tuple[str, ...]:
    """One-line notes after a split's summary: zone-less times read as UTC while the calendar is
    another zone's, and a zoned timestamp column filed by the days of another zone (UTC)."""
    notes = []
    if time_column is None or timezone is None or not derived:   # no calendar part: the zone files nothing
        return ()
    if naive_rows and naive_timezone is None and timezone != "UTC":
        notes.append(f"{naive_rows:,} times in column {time_column!r} have no zone and were read as UTC, then filed by "
                     f"their day in {timezone}; if they are {timezone} wall-clock times, split again with "
                     f"--naive-timezone {timezone} --overwrite")
    zone = getattr(time_type, "tz", None) if time_type is not None and pa.types.is_timestamp(time_type) else None
    if zone and zone not in ("UTC", "+00:00", "Etc/UTC", "Z") and zone != timezone:
        notes.append(f"column {time_column!r} is a timestamp in {zone}, filed by its calendar day in {timezone} "
                     f"(--timezone); pass --timezone {zone} to file rows by their day there")
    return tuple(notes)
