"""``--time-format``: text times written in a layout other than ISO-8601 (``01/05/2024 10:00:00 PM`` in
many public tables), read by a strptime format such as ``%m/%d/%Y %I:%M:%S %p``.

The format is checked when the split is configured: it must be text with a year (``%Y`` or ``%y``)
that pandas' parser accepts. It is stored in the manifest's config (absent when not given), so an
``--append`` reads new days the same way. What a time read by it is follows from the format, as for
ISO text (localtimes.py): with ``%z`` or ``%Z`` an instant; without a time of day (no ``%H %I %M %S
%f %p %X %c``) a calendar date, read as local midnight in ``--timezone``; otherwise a zone-less
wall-clock time in ``--naive-timezone`` (default UTC). A value that does not match the format is a
bad time (an error naming the file, row and value, or dropped with ``--on-bad-time drop``).
"""

from __future__ import annotations

import re
from typing import Any

from datagen.contract.errors import ConfigError

_TIME_OF_DAY = re.compile(r"%[HIMSfpXc]")
_ZONED = re.compile(r"%[zZ]")
_EXAMPLE = "e.g. '%m/%d/%Y %I:%M:%S %p'"


def check_time_format(value: Any) -> str | None:
    """``value`` as a usable strptime format, or None (ISO-8601)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"time_format: expected a strptime format, {_EXAMPLE}, got {value!r}")
    if "%Y" not in _plain(value) and "%y" not in _plain(value):
        raise ConfigError(f"time_format: expected a format with a year (%Y or %y), {_EXAMPLE}, got {value!r}")
    import pandas as pd

    try:
        pd.to_datetime(pd.Series(["x"]), format=value, errors="coerce")
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"time_format: {value!r} is not a format pandas can read ({str(exc).splitlines()[0]}), "
                          f"{_EXAMPLE}") from None
    return value


def _plain(time_format: str) -> str:
    """The format without its escaped percent signs (``%%Y`` is the text "%Y", not a year)."""
    return time_format.replace("%%", "")


def format_kind(time_format: str) -> str:
    """"instant" (the format reads an offset or zone), "date" (no time of day) or "wall-clock"."""
    directives = _plain(time_format)
    if _ZONED.search(directives):
        return "instant"
    return "wall-clock" if _TIME_OF_DAY.search(directives) else "date"
