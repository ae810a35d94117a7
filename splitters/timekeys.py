"""Parsing the time column and deriving calendar group parts from it.

Times become int64 nanoseconds since the epoch (UTC). Calendar parts are taken
from the wall-clock time in ``timezone``. Naive timestamps and ISO strings
without an offset are taken as UTC.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datagen.errors import ConfigError

NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
NS_PER_DAY = 86_400 * 1_000_000_000
NS_PER_HOUR = 3_600 * 1_000_000_000
_EPOCH_DATE = _dt.date(1970, 1, 1)


def check_time_type(column: str, dtype: pa.DataType, time_unit: str | None) -> None:
    """Usage errors for a time column of a kind we cannot read as asked."""
    numeric = pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
    if numeric and time_unit is None:
        raise ConfigError(f"time column {column!r} holds numbers ({dtype}); pass --time-unit s|ms|us|ns")
    if not (numeric or pa.types.is_timestamp(dtype) or pa.types.is_date(dtype)
            or pa.types.is_string(dtype) or pa.types.is_large_string(dtype)):
        raise ConfigError(f"time column {column!r} has type {dtype}; expected a timestamp, ISO-8601 text or epoch numbers")


def parse_times(arr: pa.Array | pa.ChunkedArray, time_unit: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Return (nanoseconds since epoch as int64, mask of rows that failed to parse)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        ns = pc.cast(pc.cast(arr, pa.timestamp("ns", getattr(t, "tz", None))), pa.int64())
        bad = pc.is_null(ns).to_numpy(zero_copy_only=False)
        return ns.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False), bad
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        bad = pc.is_null(arr).to_numpy(zero_copy_only=False).copy()
        filled = arr.fill_null(0) if pa.types.is_integer(t) else arr.fill_null(float("nan"))
        values = filled.to_numpy(zero_copy_only=False).astype(np.float64 if pa.types.is_floating(t) else np.int64)
        scale = NS_PER[time_unit]
        limit = np.iinfo(np.int64).max // scale
        with np.errstate(invalid="ignore"):
            bad |= ~np.isfinite(values) if values.dtype.kind == "f" else False
            bad |= np.abs(np.where(bad, 0, values)) > limit
        safe = np.where(bad, 0, values)
        ns = (np.round(safe * scale) if values.dtype.kind == "f" else safe * scale).astype(np.int64)
        return ns, bad
    # ISO-8601 text, with "Z", an offset, or none (taken as UTC).
    text = arr.to_pandas()
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy()
    ns = parsed.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]", na_value=np.datetime64(0, "ns")).view(np.int64)
    return ns, bad


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
