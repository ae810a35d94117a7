"""Group values too long for a directory name: the shortened hive segment.

A plain segment ``key=<escaped value>`` longer than ``MAX_SEGMENT_BYTES`` (hive.py) is
written instead as::

    key=<the escaped value's first characters, at most 100 bytes>%7eh<16 hex digits>

where the hex digits start the sha256 of the value's text (UTF-8). Readers that decode
hive paths (pyarrow, DuckDB, Polars) see ``<prefix>~h<hash>``; datagen's readers take the
full value from the manifest's ``group``. The prefix ends on a whole character, so it
always decodes to valid UTF-8.

Why it cannot collide with a plain segment: plain segments are written by
``urllib.parse.quote``, which escapes with *upper-case* hex digits (``%2F``) and never
escapes ``~``; the marker ``%7e`` uses a lower-case digit, which no plain segment holds.
Two shortened values collide only when their prefixes and 64-bit hashes are equal; the
split refuses such a pair before writing anything (``check_distinct_dirs``).

The same shortening keeps a group's whole directory within ``MAX_DIR_BYTES``: the
longest plain segments (leftmost first on ties) are shortened until it fits, so with an
``--out`` of up to about 860 bytes a shard path stays within PATH_MAX = 4096. The
result depends on the group values alone, so the manifest rules recompute it.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from .errors import OutputError

MARK = "%7eh"            # "~h" with a lower-case escape: never part of a plain segment
PREFIX_BYTES = 100       # of the escaped value kept in front of the hash
HASH_HEX = 16            # hex digits of sha256 (64 bits)
MAX_DIR_BYTES = 3072     # of a group's relative directory, see the module docstring


def value_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_HEX]


def short_segment(qkey: str, raw: str, limit: int) -> str:
    """The shortened segment of the escaped key ``qkey`` and value text ``raw``, at most ``limit`` bytes."""
    budget = min(PREFIX_BYTES, limit - len(qkey) - 1 - len(MARK) - HASH_HEX)
    if budget < 0:
        raise OutputError(f"group column name {qkey[:40]!r}... is too long for a directory name "
                          f"(escaped, {len(qkey)} bytes; at most {limit - 1 - len(MARK) - HASH_HEX}); rename the column")
    kept, used = [], 0
    for ch in raw:
        escaped = quote(ch, safe="")
        if used + len(escaped) > budget:
            break
        kept.append(escaped)
        used += len(escaped)
    return f"{qkey}={''.join(kept)}{MARK}{value_hash(raw)}"


def is_shortened(segment: str) -> bool:
    """True for a shortened segment (or a directory holding one)."""
    return MARK in segment


def fit_dir(segments: list[str], raws: list[str | None], qkeys: list[str], limit: int) -> list[str]:
    """``segments`` with the longest plain ones shortened until the directory fits MAX_DIR_BYTES
    (a segment without text, ``raws[i] is None``, is kept)."""
    total = sum(len(s) for s in segments) + len(segments) - 1
    if total <= MAX_DIR_BYTES:
        return segments
    segments = list(segments)
    for i in sorted(range(len(segments)), key=lambda i: (-len(segments[i]), i)):
        if total <= MAX_DIR_BYTES:
            break
        if raws[i] is None or is_shortened(segments[i]):
            continue
        short = short_segment(qkeys[i], raws[i], limit)
        if len(short) < len(segments[i]):
            total -= len(segments[i]) - len(short)
            segments[i] = short
    return segments
