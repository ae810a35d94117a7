"""The sha256 a commit recorded for the ``manifest.json`` it wrote: a manifest read back byte for byte
as its commit wrote it is not checked again.

Every local commit (publish.py) validates the manifest it renders, then writes its version record
``_versions/<N>.json`` with ``manifest_sha256`` (of the exact bytes about to be committed) as its
third field, then ``manifest.json``. Opening a dataset reads the first bytes of record N: when
the manifest's bytes have that sha256, they are the ones that were validated when written, and
the per-shard checks (the cost of opening a 100k-shard manifest) are skipped. Any other bytes — a
hand edit, a damaged file, a manifest without versions, a record without the field — are checked
in full, as before. (A record edited by hand to hold the sha256 of a manifest edited by hand is
not caught here; ``datagen log`` and ``verify`` still check the chain and the shards.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_MARK = re.compile(rb'\{"record":"datagen version record","version":([1-9][0-9]{0,17}),"manifest_sha256":"([0-9a-f]{64})"')


def recorded_sha256(directory: Path, version: int) -> str | None:
    """The ``manifest_sha256`` record ``version`` holds as its third field, or None."""
    try:
        with open(directory / "_versions" / f"{version:08d}.json", "rb") as fh:
            head = fh.read(256)
    except (OSError, ValueError):
        return None
    match = _MARK.match(head)
    return match.group(2).decode("ascii") if match and int(match.group(1)) == version else None


def vouched(directory: Path, data: Any, sha256: str) -> bool:
    """Is ``data`` (decoded from bytes with ``sha256``) the manifest its own commit validated and wrote?"""
    if type(data) is not dict:
        return False
    version = data.get("version")
    if type(version) is not int or not 1 <= version < 10**8 or data.get("version_record") != f"_versions/{version:08d}.json":
        return False
    return recorded_sha256(directory, version) == sha256
