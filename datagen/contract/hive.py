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
``NaN``, ``Infinity`` and ``-Infinity``; -0.0 as ``0.0``. A segment longer than
``MAX_SEGMENT_BYTES``, or a directory longer than ``longvalues.MAX_DIR_BYTES``, is
shortened with a hash of the value (longvalues.py); the manifest keeps the full value.
"""

from __future__ import annotations

import datetime as _dt
import math
import posixpath
from urllib.parse import quote

from .errors import OutputError
from .longvalues import fit_dir, short_segment

NULL_SEGMENT = "__HIVE_DEFAULT_PARTITION__"
# Longest plain segment; longer ones are shortened (longvalues.py). Filesystems cap a name at 255 bytes.
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


def _plain(key: str, value: object) -> tuple[str, str, str | None]:
    """(escaped key, plain ``key=value`` segment, the value's text or None for null)."""
    qkey = quote(key, safe="")
    if value is None:
        return qkey, f"{qkey}={NULL_SEGMENT}", None
    raw = format_value(key, value)
    text = quote(raw, safe="")
    if raw == NULL_SEGMENT:
        text = "%5F" + text[1:]
    return qkey, f"{qkey}={text}", raw


def encode_segment(key: str, value: object) -> str:
    """``key=value`` with the value escaped so it is safe as one path segment; a value too long
    for a directory name is shortened with its hash (longvalues.py)."""
    qkey, segment, raw = _plain(key, value)
    if len(segment) > MAX_SEGMENT_BYTES:   # escaped: ASCII, one byte per character
        if raw is None:
            raise OutputError(f"group column name {key[:40]!r}... is too long for a directory name; rename the column")
        return short_segment(qkey, raw, MAX_SEGMENT_BYTES)
    return segment


def group_dir(keys: list[str], values: tuple) -> str:
    """The relative POSIX directory of one group, e.g. ``month=01/day=05``."""
    if not keys:
        return ""
    plain = [_plain(k, v) for k, v in zip(keys, values)]
    segments = [encode_segment(k, v) for k, v in zip(keys, values)]
    segments = fit_dir(segments, [p[2] for p in plain], [p[0] for p in plain], MAX_SEGMENT_BYTES)
    return posixpath.join(*segments)


def plain_dir(keys: list[str], values: tuple) -> str | None:
    """The directory without any shortening (what splits before the fallback wrote), or None when
    a segment would not fit a file name."""
    segments = [_plain(k, v)[1] for k, v in zip(keys, values)]
    if not keys or any(len(s) > MAX_SEGMENT_BYTES for s in segments):
        return None
    return posixpath.join(*segments)


def is_safe_relative(path: str) -> bool:
    """True when ``path`` is relative, POSIX, and cannot leave its base directory."""
    from .pathrules import path_problem  # the rules and their reasons live in one place

    return path_problem(path) is None
