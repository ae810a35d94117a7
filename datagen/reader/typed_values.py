"""Group values of decimal, timestamp, date and time columns as ``where`` compares them: by value.

The manifest stores these values as text (decimals as "2.00", timestamps, dates and times as
ISO-8601); comparing that text would order "-1.00" above "-5.00" and "10:00+01:00" after "12:00".
Here both the stored value and a literal compared with the column become typed values:

* decimal: a ``Decimal`` (kind number), so ``price >= 2``, ``price == '2.0'`` and ``'2.00'`` agree;
* timestamp: an :class:`Instant` (nanoseconds since 1970-01-01 UTC); a text without an offset is
  taken as UTC, the convention the splitter uses for ISO text without one. A column of zone-less
  timestamps (no ``tz=``: wall-clock times, whatever zone they were written in) compares wall-clock
  times, and a literal with an offset is refused: it names an instant the column cannot place;
* date: a :class:`Typed` of kind date (days since 0001-01-01);
* time: a :class:`Typed` of kind time (nanoseconds since midnight).

A date column also matches a zone-less timestamp at midnight (``2024-01-05T00:00``, as pandas holds
dates; dict filters read date, datetime and datetime64 values as ISO text, filter_values.python_value). A literal that does not parse as
the column's type is refused in one line (FilterError).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import re
from dataclasses import dataclass
from typing import Any

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})\.(\d{1,9})")
_DECIMAL = re.compile(r"decimal(32|64|128|256)?\(")
_MIDNIGHT = re.compile(r"[T ]00:00(:00(\.0{1,9})?)?")


@functools.total_ordering
@dataclass(frozen=True)
class Typed:
    """A timestamp, date or time value: its kind and an integer key that orders it."""
    kind: str
    key: int

    def __lt__(self, other: "Typed") -> bool:
        if not isinstance(other, Typed) or other.kind != self.kind:
            return NotImplemented
        return self.key < other.key


def typed_kind(type_name: str | None) -> str | None:
    """"number" (decimal), "timestamp", "date", "time", or None for a column compared as it is."""
    if not type_name:
        return None
    if _DECIMAL.match(type_name):
        return "number"
    if type_name.startswith("timestamp"):
        return "timestamp" if "tz=" in type_name else "wall-clock timestamp"
    if type_name.startswith("date"):
        return "date"
    if type_name.startswith("time"):
        return "time"
    return None


def _split_fraction(text: str) -> tuple[str, int]:
    """``text`` with its fraction of a second cut to microseconds, and the nanoseconds it had below that."""
    m = _FRACTION.search(text)
    if not m:
        return text, 0
    digits = m.group(2).ljust(9, "0")
    return text[:m.start(2)] + digits[:6] + text[m.end(2):], int(digits[6:])


@functools.lru_cache(maxsize=65536)
def _parse(kind: str, text: str) -> Any:
    text = text.strip()
    if kind == "number":
        value = decimal.Decimal(text)
        if not value.is_finite():
            raise ValueError("not a finite decimal")
        return value
    if kind == "date":
        if len(text) > 10 and _MIDNIGHT.fullmatch(text[10:]):
            text = text[:10]  # a zone-less midnight: the date pandas and numpy write as a timestamp
        return Typed("date", _dt.date.fromisoformat(text).toordinal())
    cut, nanos = _split_fraction(text)
    if kind == "time":
        t = _dt.time.fromisoformat(cut)
        if t.tzinfo is not None:
            raise ValueError("a time of day has no offset here")
        micros = ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
        return Typed("time", micros * 1000 + nanos)
    stamp = _dt.datetime.fromisoformat(cut.replace(" ", "T", 1) if len(cut) > 10 else cut)
    if stamp.tzinfo is not None and kind == "wall-clock timestamp":
        raise ValueError("an offset against zone-less times")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    delta = stamp - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Typed("timestamp", micros * 1000 + nanos)


def typed_value(value: Any, kind: str) -> Any:
    """``value`` as ``kind`` (see the module docstring); raises ValueError when it is not one."""
    if value is None:
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float, str, decimal.Decimal)):
            raise ValueError("not a number")
        if isinstance(value, decimal.Decimal):
            return value
        return _parse(kind, str(value) if not isinstance(value, str) else value)
    if not isinstance(value, str):
        raise ValueError(f"not a {kind} text")
    return _parse(kind, value)


def stored_value(value: Any, kind: str) -> Any:
    """A manifest group value as a typed value; one that does not parse stays as it is (never raises)."""
    try:
        return typed_value(value, kind)
    except (ValueError, ArithmeticError, TypeError, OverflowError):
        return value
