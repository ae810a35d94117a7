"""The time scale of a split: the resolution its times are kept at, the range they may
span, the wall-clock time in ``--timezone`` and the time's text in the manifest.

A split keeps every time as int64 *ticks* since 1970-01-01 UTC at one resolution, chosen
once from the time column's unified type and ``--time-unit``:

- ``ns`` for a ``timestamp[ns]`` column and for ``--time-unit ns`` (epoch nanoseconds, or
  text kept to the nanosecond). int64 nanoseconds reach 1677..2262 only, so the range is
  [1677-09-22, 2262-04-11) UTC, a day kept free at both ends as before.
- ``us`` for everything else (``timestamp[s|ms|us]``, dates, ISO text, epoch s/ms/us):
  years 1..9999, [0001-01-01, 10000-01-01) UTC.

Calendar parts are always derived from microseconds (ns ticks are floored to us first), so
they never overflow, and the wall-clock time in a time zone must itself lie in years
1..9999 (only the first or last day of the range can leave it).
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo

import numpy as np
import pyarrow as pa

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
_UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_NAIVE = _dt.datetime(1970, 1, 1)
_ONE_US = _dt.timedelta(microseconds=1)

MIN_US = -62_135_596_800 * 10**6        # 0001-01-01T00:00:00Z
MAX_US = 253_402_300_800 * 10**6        # 10000-01-01T00:00:00Z
MIN_NS = int(np.datetime64("1677-09-22", "ns").astype(np.int64))   # 1677-09-22T00:00:00Z
MAX_NS = int(np.datetime64("2262-04-11", "ns").astype(np.int64))   # 2262-04-11T00:00:00Z
# [lo, hi) in ticks of each resolution, and how the range reads in messages
RANGES = {"us": (MIN_US, MAX_US), "ns": (MIN_NS, MAX_NS)}
RANGE_TEXT = {"us": "0001-01-01..9999-12-31 UTC", "ns": "1677-09-22..2262-04-10 UTC"}
# ticks of each resolution per unit of a source (s, ms, us, ns)
TICKS = {"us": {"s": 10**6, "ms": 10**3, "us": 1}, "ns": {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}}
# pandas converts between UTC and wall-clock times on int64 nanoseconds: inside this range
_PANDAS_LO = (_dt.datetime(1678, 1, 1, tzinfo=_UTC) - _EPOCH) // _ONE_US
_PANDAS_HI = (_dt.datetime(2262, 1, 1, tzinfo=_UTC) - _EPOCH) // _ONE_US


def resolution(dtype: pa.DataType | None, time_unit: str | None) -> str:
    """``"ns"`` or ``"us"``: the resolution of a split whose time column has the unified type
    ``dtype`` (as read: text or numbers for CSV) under ``--time-unit`` (see the module docstring)."""
    if dtype is not None and pa.types.is_timestamp(dtype):
        return "ns" if dtype.unit == "ns" else "us"
    return "ns" if time_unit == "ns" else "us"


def to_us(ticks: np.ndarray, res: str) -> np.ndarray:
    """Ticks as microseconds, floored (exact for ``us``)."""
    return ticks if res == "us" else np.floor_divide(ticks, 1000)


def iso_time(tick: int, res: str) -> str:
    """A time as ISO-8601 text in UTC (``+00:00``), to the microsecond or nanosecond."""
    if res == "ns":
        import pandas as pd   # imported when needed: ~0.3 s a split of timestamps never pays

        return pd.Timestamp(int(tick), unit="ns", tz="UTC").isoformat()
    return (_EPOCH + _dt.timedelta(microseconds=int(tick))).isoformat()


def _python_wall_clock(us: np.ndarray, zone: zoneinfo.ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock microseconds by Python's zoneinfo, once per distinct value; False where the
    wall-clock time leaves years 1..9999."""
    uniq, inverse = np.unique(us, return_inverse=True)
    local = np.zeros(len(uniq), np.int64)
    ok = np.ones(len(uniq), bool)
    for i, u in enumerate(uniq.tolist()):
        try:
            wall = (_EPOCH + _dt.timedelta(microseconds=u)).astimezone(zone).replace(tzinfo=None)
            local[i] = (wall - _EPOCH_NAIVE) // _ONE_US
        except (OverflowError, ValueError):
            ok[i] = False
    return local[inverse], ok[inverse]


def wall_clock(us: np.ndarray, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """(wall-clock microseconds in ``timezone``, True where that wall clock lies in years 1..9999)
    for UTC microseconds ``us`` in [MIN_US, MAX_US). pandas converts the times it can hold as
    nanoseconds; Python's zoneinfo (the same rules) the others, once per distinct value."""
    if timezone == "UTC" or len(us) == 0:
        return us, np.ones(len(us), bool)
    local = np.empty_like(us)
    ok = np.ones(len(us), bool)
    mid = (us >= _PANDAS_LO) & (us < _PANDAS_HI)
    if mid.any():
        import pandas as pd

        ns = us[mid] * 1000
        idx = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(timezone)
        local[mid] = np.floor_divide(idx.tz_localize(None).asi8, 1000)
    rest = ~mid
    if rest.any():
        local[rest], ok[rest] = _python_wall_clock(us[rest], zoneinfo.ZoneInfo(timezone))
    return local, ok


def wall_clock_fits(ticks: np.ndarray, res: str, timezone: str) -> np.ndarray:
    """True where the wall-clock time in ``timezone`` lies in years 1..9999 (for good ticks).
    Only times within a day of the ends of the ``us`` range can fail, and only those are converted."""
    ok = np.ones(len(ticks), bool)
    if timezone == "UTC" or res != "us":
        return ok
    edge = np.flatnonzero((ticks < MIN_US + US_PER_DAY) | (ticks >= MAX_US - US_PER_DAY))
    if len(edge):
        ok[edge] = _python_wall_clock(ticks[edge], zoneinfo.ZoneInfo(timezone))[1]
    return ok
