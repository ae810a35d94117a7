"""Parsing the time column and deriving calendar group parts from it.

Times become int64 ticks since the epoch (UTC) at the split's resolution
(timescale.py: microseconds, or nanoseconds for a ``timestamp[ns]`` column or
``--time-unit ns``). Calendar parts are taken from the wall-clock time in
``timezone``, in microseconds. ``parse_times`` takes naive timestamps and ISO strings
without an offset as UTC; the stage step then moves them to wall-clock times in
``--naive-timezone`` and calendar dates to local midnight in ``--timezone``
(localtimes.py). ``parse_times`` marks a null as failed too, but the stage step
takes missing times (null, empty, NA; missing_times.py) out first: they are not bad.
A time is bad (an error, or dropped with --on-bad-time drop) when it cannot be parsed, lies outside the resolution's range (years
1..9999 for microseconds, 1677-09-22..2262-04-10 for nanoseconds), or is text
with digits finer than a microsecond at microsecond resolution; it never becomes
NaT, a wrapped or a rounded value.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.errors import ColumnError, ConfigError

from datagen.contract.format import is_text
from .timescale import MAX_NS, MIN_NS, RANGES, TICKS, US_PER_DAY, US_PER_HOUR, resolution

if TYPE_CHECKING:
    import pandas as pd

NS_PER = TICKS["ns"]
_EPOCH_DATE = _dt.date(1970, 1, 1)
_INT_RE = r"^\s*[+-]?\d+\s*$"
_FLOAT_RE = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
__all__ = ["MIN_NS", "MAX_NS", "NS_PER", "TimeParse", "parse_times", "derived_part", "day_part", "DAY_PARTS", "derived_value"]


@dataclass
class TimeParse:
    ns: np.ndarray        # int64 ticks since the epoch, UTC, at ``res`` (0 where bad; named ns for history)
    bad: np.ndarray       # rows that cannot be used: null, unparseable, outside the range or too fine
    outside: np.ndarray   # the bad rows that parsed but lie outside the range of ``res``
    res: str = "ns"       # "us" or "ns" (timescale.resolution)
    finer: np.ndarray | None = None   # bad text rows with digits finer than ``res`` (us only)


def check_time_type(column: str, dtype: pa.DataType, time_unit: str | None, time_format: str | None = None) -> None:
    """Usage errors for a time column of a kind we cannot read as asked: numbers without
    ``--time-unit`` (ConfigError: an option is missing), any other unusable type (ColumnError);
    ``--time-format`` reads text, and integers as their digits (20240105), never times or fractions."""
    numeric = pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
    if time_format is not None:
        if pa.types.is_integer(dtype) or is_text(dtype):
            return
        raise ConfigError(f"--time-format reads times written as text (or integer digits such as 20240105); time "
                          f"column {column!r} is {dtype} in the inputs: leave --time-format out")
    if numeric and time_unit is None:
        raise ConfigError(f"time column {column!r} holds numbers ({dtype}); pass --time-unit s|ms|us|ns")
    if not (numeric or pa.types.is_timestamp(dtype) or pa.types.is_date(dtype)
            or is_text(dtype)):
        raise ColumnError(f"time column {column!r} has type {dtype}; expected a timestamp, ISO-8601 text or epoch numbers")


def _from_ints(values: np.ndarray, missing: np.ndarray, scale: int, res: str) -> TimeParse:
    """Integer times in units of ``scale`` ticks -> ticks, with rows outside the range of ``res`` bad."""
    lo_t, hi_t = RANGES[res]
    lo, hi = -(-lo_t // scale), (hi_t - 1) // scale
    if values.dtype.kind == "u":
        outside = values > np.uint64(hi)
    else:
        outside = (values < lo) | (values > hi)
    outside &= ~missing
    bad = missing | outside
    if bad.any():
        values = np.where(bad, 0, values)
    ticks = values.astype(np.int64, copy=False)
    return TimeParse(ticks * scale if scale != 1 else ticks, bad, outside, res)


def _from_floats(values: np.ndarray, missing: np.ndarray, scale: int, res: str) -> TimeParse:
    """Float times in units of ``scale`` ticks -> the nearest tick (half to even), bad outside the range."""
    lo, hi = RANGES[res]
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.round(values * scale)
        fits = (scaled >= -2.0**63) & (scaled < 2.0**63)   # False for NaN and +-inf; both bounds exact
    ticks = np.where(fits, scaled, 0.0).astype(np.int64)
    inside = fits & (ticks >= lo) & (ticks < hi)           # the range compared as integers
    outside = ~inside & ~missing
    bad = missing | outside
    return TimeParse(np.where(bad, 0, ticks), bad, outside, res)


def _from_pandas(parsed: pd.Series, res: str) -> TimeParse:
    """Ticks at ``res`` of a parsed pandas Series (any unit); values with digits finer than ``res``
    are bad (``finer``), never rounded."""
    values = parsed.array.asi8
    nat = parsed.isna().to_numpy()
    finer = np.zeros(len(values), bool)
    unit = parsed.dt.unit
    if res == "us" and unit == "ns":
        finer = (values % 1000 != 0) & ~nat
        values = np.floor_divide(values, 1000)
        unit = "us"
    result = _from_ints(values, nat | finer, TICKS[res][unit], res)
    result.finer = finer
    return result


def _from_text(arr: pa.Array, res: str, time_format: str | None = None) -> TimeParse:
    """ISO-8601 text, or text in ``time_format`` (--time-format, timeformat.py); a value that does not
    parse is bad."""
    import pandas as pd   # imported when text times are parsed (a split of timestamps never pays for it)

    text = arr.to_pandas()
    missing = text.isna().to_numpy()
    fmt = time_format or "ISO8601"
    result = _from_pandas(pd.to_datetime(text, utc=True, format=fmt, errors="coerce"), res)
    failed = np.flatnonzero(result.bad & ~missing & ~result.finer)
    if len(failed):
        # pandas gives the whole array one resolution: a value that needs nanoseconds makes the dates
        # nanoseconds cannot hold NaT (so a value's fate would hang on the others in its block). Parse the
        # failures again, those with digits finer than a microsecond apart from the others.
        fine = text.iloc[failed].str.contains(r"\.\d{7}", regex=True, na=False).to_numpy()
        for part in (failed[fine], failed[~fine]):
            if len(part):
                redo = _from_pandas(pd.to_datetime(text.iloc[part], utc=True, format=fmt, errors="coerce"), res)
                for name in ("ns", "bad", "outside", "finer"):
                    getattr(result, name)[part] = getattr(redo, name)
    return result



def parse_times(arr: pa.Array | pa.ChunkedArray, time_unit: str | None, res: str | None = None,
                time_format: str | None = None) -> TimeParse:
    """Times as int64 ticks since the epoch (UTC) at resolution ``res`` (default: the one
    timescale.resolution gives for this column), with the rows that failed: unparseable, null,
    outside the range (``outside``, a subset of ``bad``) or too fine (``finer``)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    res = res or resolution(t, time_unit)
    missing = pc.is_null(arr).to_numpy(zero_copy_only=False)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        raw = arr.view(pa.int64() if not pa.types.is_date32(t) else pa.int32())
        values = raw.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        if pa.types.is_date(t):
            return _from_ints(values, missing, TICKS[res]["s"] * 86_400 if pa.types.is_date32(t) else TICKS[res]["ms"],
                              res)
        if t.unit == "ns" and res == "us":  # nanoseconds asked for at microseconds: refuse what would round
            finer = (values % 1000 != 0) & ~missing
            result = _from_ints(np.floor_divide(values, 1000), missing | finer, 1, res)
            result.finer = finer
            return result
        return _from_ints(values, missing, TICKS[res][t.unit], res)
    if time_format is not None and pa.types.is_integer(t):   # digits such as 20240105, read by the format
        return _from_text(pc.cast(arr, pa.string()), res, time_format)
    if pa.types.is_integer(t):
        return _from_ints(arr.fill_null(0).to_numpy(zero_copy_only=False), missing, TICKS[res][time_unit], res)
    if pa.types.is_floating(t):
        values = pc.cast(arr, pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        return _from_floats(values, missing, TICKS[res][time_unit], res)
    # ISO-8601 text, with "Z", an offset, or none (taken as UTC); or text in --time-format
    return _from_text(arr, res, time_format)


def looks_numeric(arr: pa.Array | pa.ChunkedArray) -> str | None:
    """For text: "int64" or "double" when every non-null value is a number, else None."""
    present = pc.drop_null(arr)
    if len(present) == 0:
        return None
    if pc.all(pc.match_substring_regex(present, _INT_RE)).as_py():
        return "int64"
    if pc.all(pc.match_substring_regex(present, _FLOAT_RE)).as_py():
        return "double"
    return None


def _calendar(days: np.ndarray, name: str) -> np.ndarray:
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    m = months.astype(np.int64)
    if name == "year":
        return m // 12 + 1970
    if name == "month":
        return m % 12 + 1
    return (d - months.astype("datetime64[D]")).astype(np.int64) + 1


def derived_part(name: str, local: np.ndarray) -> np.ndarray:
    """One calendar part as int64 per row (``date`` as days since 1970-01-01) of wall-clock
    microseconds ``local`` (proleptic Gregorian calendar, as Python's datetime)."""
    if name == "hour":
        return np.floor_divide(local, US_PER_HOUR) % 24
    return day_part(name, np.floor_divide(local, US_PER_DAY))


DAY_PARTS = frozenset(("date", "weekday", "year", "month", "day"))


def day_part(name: str, days: np.ndarray) -> np.ndarray:
    """``derived_part`` of a part in DAY_PARTS, from the wall-clock day (days since 1970-01-01)."""
    if name == "date":
        return days
    if name == "weekday":  # Monday = 0 ... Sunday = 6; 1970-01-01 was a Thursday
        return (days + 3) % 7
    if name not in ("year", "month", "day"):
        raise ValueError(name)
    if len(days) == 0:
        return days
    lo, hi = int(days.min()), int(days.max())
    if hi - lo < 4 * len(days) + 1024:  # a lookup table over the day range is far cheaper per row
        table = _calendar(np.arange(lo, hi + 1, dtype=np.int64), name)
        return table[days - lo]
    return _calendar(days, name)


def derived_value(name: str, code: int) -> object:
    """The group value stored for a derived part."""
    if name == "date":
        return (_EPOCH_DATE + _dt.timedelta(days=int(code))).isoformat()
    return int(code)
