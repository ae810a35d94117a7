"""Rules for shard paths stored in a manifest: relative POSIX paths that stay inside DIR.

Checked lexically here (on read of every manifest) and again against the real
filesystem by :mod:`datagen.contract.shardcheck` (symlinks must not lead outside DIR).
"""

from __future__ import annotations

import re

# Limits of common filesystems (Linux NAME_MAX and PATH_MAX).
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def path_problem(path: object) -> str | None:
    """Why ``path`` is not a safe relative shard path, or ``None`` when it is.

    Safe: a non-empty string of printable characters, POSIX separators, no absolute
    start, no drive or URL scheme, no empty, ``.`` or ``..`` segment, every segment at
    most 255 bytes and the whole at most 4096 bytes (UTF-8)."""
    if not isinstance(path, str):
        return "must be a string"
    if not path:
        return "must not be empty"
    if CONTROL.search(path):
        return "must not contain control characters (such as NUL or newline)"
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds a lone surrogate)"
    if size > MAX_PATH_BYTES:
        return f"is {size:,} bytes long, at most {MAX_PATH_BYTES} allowed"
    if path.startswith("/") or "\\" in path:
        return "must be relative with '/' separators and must not escape the dataset directory"
    parts = path.split("/")
    if ":" in parts[0]:
        return "must be relative (no drive letter or URL scheme) and must not escape the dataset directory"
    for part in parts:
        if part in ("", ".", ".."):
            return "must be relative to the dataset directory and must not escape it (empty, '.' or '..' segment)"
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            return f"has a segment of {len(part.encode('utf-8')):,} bytes, at most {MAX_NAME_BYTES} allowed"
    return None
