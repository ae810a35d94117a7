"""Parsing the time column and deriving calendar group parts from it.

Times become int64 nanoseconds since the epoch (UTC). Calendar parts are taken
from the wall-clock time in ``timezone``. Naive timestamps and ISO strings
without an offset are taken as UTC. A time is bad (an error, or dropped with
--on-bad-time drop) when it is null, cannot be parsed, or lies outside
[MIN_NS, MAX_NS) = 1677-09-22..2262-04-10 UTC, whatever its kind (text, epoch
number, Parquet timestamp or date); it never becomes NaT or a wrapped value.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.errors import ColumnError, ConfigError

from datagen.contract.format import is_text

NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
NS_PER_DAY = 86_400 * 1_000_000_000
NS_PER_HOUR = 3_600 * 1_000_000_000
_EPOCH_DATE = _dt.date(1970, 1, 1)
# Supported times: [MIN_NS, MAX_NS), nanoseconds since the epoch. int64 nanoseconds reach
# 1677-09-21T00:12:43 .. 2262-04-11T23:47:16; a day is kept free at both ends so that the
# wall-clock time in any time zone still fits. int64 min is pandas' NaT and never valid.
MIN_NS = int(pd.Timestamp("1677-09-22", tz="UTC").value)
MAX_NS = int(pd.Timestamp("2262-04-11", tz="UTC").value)
SUPPORTED_RANGE = "1677-09-22..2262-04-10 UTC"
_INT_RE = r"^\s*[+-]?\d+\s*$"
_FLOAT_RE = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


@dataclass
class TimeParse:
    ns: np.ndarray        # int64 nanoseconds since the epoch, UTC (0 where bad)
    bad: np.ndarray       # rows that cannot be used: null, unparseable or outside the range
    outside: np.ndarray   # the bad rows that parsed but lie outside [MIN_NS, MAX_NS)


def check_time_type(column: str, dtype: pa.DataType, time_unit: str | None) -> None:
    """Usage errors for a time column of a kind we cannot read as asked: numbers without
    ``--time-unit`` (ConfigError: an option is missing), any other unusable type (ColumnError)."""
    numeric = pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
    if numeric and time_unit is None:
        raise ConfigError(f"time column {column!r} holds numbers ({dtype}); pass --time-unit s|ms|us|ns")
    if not (numeric or pa.types.is_timestamp(dtype) or pa.types.is_date(dtype)
            or is_text(dtype)):
        raise ColumnError(f"time column {column!r} has type {dtype}; expected a timestamp, ISO-8601 text or epoch numbers")


def _from_ints(values: np.ndarray, missing: np.ndarray, scale: int) -> TimeParse:
    """Integer times in units of ``scale`` ns -> ns, with rows outside the supported range bad."""
    lo, hi = -(-MIN_NS // scale), (MAX_NS - 1) // scale
    if values.dtype.kind == "u":
        outside = values > np.uint64(hi)
    else:
        outside = (values < lo) | (values > hi)
    outside &= ~missing
    bad = missing | outside
    if bad.any():
        values = np.where(bad, 0, values)
    ns = values.astype(np.int64, copy=False)
    return TimeParse(ns * scale if scale != 1 else ns, bad, outside)


def _from_floats(values: np.ndarray, missing: np.ndarray, scale: int) -> TimeParse:
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * scale
        inside = (scaled >= MIN_NS) & (scaled < MAX_NS)   # False for NaN and +-inf
    outside = ~inside & ~missing
    bad = missing | outside
    ns = np.round(np.where(bad, 0.0, scaled)).astype(np.int64)
    return TimeParse(ns, bad, outside)


def _from_text(arr: pa.Array) -> TimeParse:
    text = arr.to_pandas()
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    result = _from_ints(parsed.array.asi8, parsed.isna().to_numpy(), NS_PER[parsed.dt.unit])
    failed = np.flatnonzero(result.bad & ~text.isna().to_numpy())
    if len(failed):
        # pandas gives the whole array one resolution: a value that needs nanoseconds makes
        # out-of-range dates NaT. Parse the failures alone to tell "outside the range" apart.
        again = pd.to_datetime(text.iloc[failed], utc=True, format="ISO8601", errors="coerce")
        redo = _from_ints(again.array.asi8, again.isna().to_numpy(), NS_PER[again.dt.unit])
        result.outside[failed] = redo.outside
    return result


def parse_times(arr: pa.Array | pa.ChunkedArray, time_unit: str | None) -> TimeParse:
    """Times as int64 ns since the epoch (UTC), with the rows that failed: unparseable, null,
    or outside the supported range [MIN_NS, MAX_NS) (``outside``, a subset of ``bad``)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    missing = pc.is_null(arr).to_numpy(zero_copy_only=False)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if pa.types.is_timestamp(t):
            scale = NS_PER[t.unit]
        else:
            scale = NS_PER_DAY if pa.types.is_date32(t) else NS_PER["ms"]
        raw = arr.view(pa.int64() if not pa.types.is_date32(t) else pa.int32())
        return _from_ints(raw.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64), missing, scale)
    if pa.types.is_integer(t):
        return _from_ints(arr.fill_null(0).to_numpy(zero_copy_only=False), missing, NS_PER[time_unit])
    if pa.types.is_floating(t):
        values = pc.cast(arr, pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        return _from_floats(values, missing, NS_PER[time_unit])
    # ISO-8601 text, with "Z", an offset, or none (taken as UTC).
    return _from_text(arr)


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


def local_ns(ns: np.ndarray, timezone: str) -> np.ndarray:
    """Wall-clock nanoseconds in ``timezone`` for UTC nanoseconds ``ns``."""
    if timezone == "UTC":
        return ns
    idx = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(timezone)
    return idx.tz_localize(None).asi8


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
    """One calendar part as int64 per row (``date`` as days since 1970-01-01)."""
    days = np.floor_divide(local, NS_PER_DAY)
    if name == "date":
        return days
    if name == "hour":
        return np.floor_divide(local, NS_PER_HOUR) % 24
    if name == "weekday":  # Monday = 0 ... Sunday = 6
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


def iso_utc(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat()
