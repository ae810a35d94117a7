"""Column checks of texts for the column-wise manifest check (manifest_fast.py): a column of texts joined by
newlines and checked in one C-level pass (``bytes.translate`` with a regex's character class instead of the
regex, ~5x faster; ``tests/test_append_parent.py`` holds them to the regexes)."""

from __future__ import annotations

import re
import string

from .jsonspec import MAX_TEXT_BYTES
from .pathrules import MAX_PATH_BYTES

_STR = {str}
# paths joined by "\n" (none holding one): safe ASCII characters only, no empty, "." or ".." segment (with
# "\n" around the whole, every segment lies between two of "/" or "\n"), no segment over 255 characters
_PATH_CHARS = re.compile(r"[\w.=~%+/\n-]*", re.ASCII)
_SIMPLE_TEXTS = re.compile(r"[A-Za-z0-9.~\n-]*")  # hive.group_dir leaves these characters as they are
_SHAS = re.compile(r"[0-9a-f]{64}(?:\n[0-9a-f]{64})*")
# the same character classes as bytes, for _only (a ``translate`` pass instead of a regex: ~5x faster)
_CLASSES = {_PATH_CHARS: (string.ascii_letters + string.digits + "_.=~%+/\n-").encode(),
            _SIMPLE_TEXTS: (string.ascii_letters + string.digits + ".~\n-").encode()}
_HEX_LINES = b"0123456789abcdef\n"


def _joined(col: list) -> str | None:
    """The values joined by newlines, when every one is text without a newline of its own."""
    if {*map(type, col)} != _STR:
        return None
    joined = "\n".join(col)
    return joined if joined.count("\n") == len(col) - 1 else None


def _only(text: str, allowed: bytes) -> bool:
    """Every character of ``text`` is one of the ASCII characters ``allowed``."""
    return text.isascii() and not text.encode("ascii").translate(None, allowed)


def _lines(col: list, pattern: re.Pattern) -> bool:
    """Every value is text, and the values joined by newlines match ``pattern`` (``_SHAS`` or a character
    class of ``_CLASSES``, checked without the regex)."""
    joined = _joined(col)
    if joined is None:
        return False
    if pattern is _SHAS:  # 64 hex digits each
        return bool(col) and min(map(len, col)) == 64 == max(map(len, col)) and _only(joined, _HEX_LINES)
    return _only(joined, _CLASSES[pattern])


def _safe_paths(paths: list) -> bool:
    """``pathrules.path_problem(p) is None`` for every path (restricted to safe ASCII characters)."""
    joined = _joined(paths)
    longest = max(map(len, paths)) if joined is not None else 0
    if joined is None or longest > MAX_PATH_BYTES or not _only(joined, _CLASSES[_PATH_CHARS]):
        return False
    slashed = f"/{joined.replace(chr(10), '/')}/"   # every segment now lies between two slashes
    if "//" in slashed or "/./" in slashed or "/../" in slashed:
        return False
    return longest <= 255 or max(map(len, slashed.split("/"))) <= 255


def _texts(col: list, nonempty: bool, max_len: int = MAX_TEXT_BYTES) -> bool:
    """Plain ASCII text without NUL, 0/1..max_len characters (what ``Text`` accepts, restricted to ASCII)."""
    if not col:
        return True
    if {*map(type, col)} != _STR:
        return False
    lengths = list(map(len, col))
    joined = "".join(col)
    return (min(lengths) >= nonempty and max(lengths) <= max_len and joined.isascii() and "\x00" not in joined)
