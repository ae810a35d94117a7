"""sha256 fingerprints of files, local or fsspec URLs (sources and shards alike)."""

from __future__ import annotations

import hashlib
import os


def sha256_file(location: str | os.PathLike, chunk: int = 8 << 20) -> str:
    """sha256 of a local file or an fsspec URL, read in chunks."""
    h = hashlib.sha256()
    text = str(location)
    if "://" in text:
        from .storage import open_url

        opener = open_url(text)
    else:
        opener = open(text, "rb")
    with opener as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
