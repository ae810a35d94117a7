"""Group values <-> hive-style directory segments (``key=value``).

Values are percent-encoded (RFC 3986, every byte but ``A-Z a-z 0-9 _ . - ~``),
which pyarrow (``segment_encoding="uri"``) and DuckDB both decode when they
read the directory back. Encoding is injective: ``/``, ``\\``, ``%`` and ``=``
are always escaped, so no value can leave its own directory or collide with
another value. ``None`` becomes the hive convention ``__HIVE_DEFAULT_PARTITION__``;
a *string* of that spelling gets its first character escaped so that it stays
distinct on disk (pyarrow's own hive reader decodes before it compares with the null
marker, so it still reads that one string as null; ``datagen.dataset.arrow_dataset``
takes the values from the manifest and reads it back exactly). The empty string is
written as ``key=`` (read back as ``""``). Floats: NaN, inf and -inf are written
``NaN``, ``Infinity`` and ``-Infinity``; -0.0 as ``0.0``.
"""

from __future__ import annotations

import datetime as _dt
import math
import posixpath
from urllib.parse import quote

from .errors import OutputError

NULL_SEGMENT = "__HIVE_DEFAULT_PARTITION__"
# Longest encoded segment we accept; most filesystems cap a name at 255 bytes.
MAX_SEGMENT_BYTES = 200
# Zero padding for calendar parts so that directory listings sort naturally.
PAD = {"month": 2, "day": 2, "hour": 2, "year": 4}


def format_value(key: str, value: object) -> str:
    """The textual form of one group value, before escaping."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        width = PAD.get(key)
        return f"{value:0{width}d}" if width and value >= 0 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value + 0.0)  # -0.0 -> 0.0
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def encode_segment(key: str, value: object) -> str:
    """``key=value`` with the value escaped so it is safe as one path segment."""
    if value is None:
        text = NULL_SEGMENT
    else:
        raw = format_value(key, value)
        text = quote(raw, safe="")
        if raw == NULL_SEGMENT:
            text = "%5F" + text[1:]
    segment = f"{quote(key, safe='')}={text}"
    if len(segment.encode()) > MAX_SEGMENT_BYTES:
        shown = format_value(key, value)[:40]
        raise OutputError(
            f"group value {shown!r}... of column {key!r} is too long for a directory name "
            f"(escaped segment is {len(segment.encode())} bytes, at most {MAX_SEGMENT_BYTES})"
        )
    return segment


def group_dir(keys: list[str], values: tuple) -> str:
    """The relative POSIX directory of one group, e.g. ``month=01/day=05``."""
    return posixpath.join(*(encode_segment(k, v) for k, v in zip(keys, values))) if keys else ""


def is_safe_relative(path: str) -> bool:
    """True when ``path`` is relative, POSIX, and cannot leave its base directory."""
    from .pathrules import path_problem  # the rules and their reasons live in one place

    return path_problem(path) is None
