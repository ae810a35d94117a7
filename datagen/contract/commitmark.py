"""The sha256 a commit recorded for the ``manifest.json`` it wrote: a manifest read back byte for byte
as its commit wrote it is not checked shard by shard again.

Every local commit (publish.py) validates the manifest it renders, then writes its version record
``_versions/<N>.json`` with ``manifest_content_sha256`` as its third field — the sha256 of the exact
bytes about to be committed with the ``created_at`` value emptied (so that reruns of the same
commit write the same record) — then ``manifest.json``. Opening a dataset reads the first bytes of
record N: when the manifest's bytes give that sha256, they are the ones that were validated when
written, and only the fields outside the shard list are checked again (``created_at`` among them);
the per-shard checks (the cost of opening a 100k-shard manifest) are skipped. Any other bytes — a
hand edit, a damaged file, a manifest without versions, a record without the field — are checked
in full, as before. (A record edited by hand to hold the sha256 of a manifest edited by hand is
not caught here; ``datagen log`` and ``verify`` still check the chain and the shards.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hashlib

_MARK = re.compile(rb'\{"record":"datagen version record","version":([1-9][0-9]{0,17}),'
                   rb'"manifest_content_sha256":"([0-9a-f]{64})"')
_CREATED = re.compile(rb'\n  "created_at": "[^"\\\n]*",\n')


def content_sha256(raw: bytes) -> str:
    """sha256 of manifest bytes with the value of its (first) ``created_at`` line emptied."""
    return hashlib.sha256(_CREATED.sub(b'\n  "created_at": "",\n', raw, count=1)).hexdigest()


def recorded_sha256(directory: Path, version: int) -> str | None:
    """The ``manifest_content_sha256`` record ``version`` holds as its third field, or None."""
    try:
        with open(directory / "_versions" / f"{version:08d}.json", "rb") as fh:
            head = fh.read(256)
    except (OSError, ValueError):
        return None
    match = _MARK.match(head)
    return match.group(2).decode("ascii") if match and int(match.group(1)) == version else None


def vouched(directory: Path, data: Any, raw: bytes) -> bool:
    """Is ``data`` (decoded from ``raw``) the manifest its own commit validated and wrote (but for created_at)?"""
    if type(data) is not dict:
        return False
    version = data.get("version")
    if type(version) is not int or not 1 <= version < 10**8 or data.get("version_record") != f"_versions/{version:08d}.json":
        return False
    recorded = recorded_sha256(directory, version)
    return recorded is not None and recorded == content_sha256(raw)
