"""A commit never overwrites a version record another commit wrote.

Before a commit writes ``_versions/<N+1>.json`` (its parent being version N, the ``manifest.json``
it read under the lock), the dataset's newest record must be version N — or N+1 holding the very
same commit (the same version with the same parent hash: an append killed after writing its record
and rerun). Otherwise ``manifest.json`` is not the newest record's version (e.g. its ``version`` was
edited down by hand) and the commit is refused, before anything is moved or written.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from datagen.contract.errors import OutputError
from datagen.contract import versions

_NAME = re.compile(r"[0-9]{8}\.json")


def newest_record(out: Path) -> int:
    """The highest version number among ``out/_versions/<8 digits>.json`` (0 when there is none)."""
    try:
        names = os.listdir(out / versions.VERSIONS_DIR)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return max((int(n[:-5]) for n in names if _NAME.fullmatch(n)), default=0)


def _same_commit(path: Path, record: dict[str, Any]) -> bool:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        old = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(old, dict) and old.get("version") == record["version"] and \
        old.get("parent_manifest_sha256") == record["parent_manifest_sha256"]


def check_next_record(out: Path, parent_version: int | None, record: dict[str, Any], command: str) -> None:
    """Refuse (OutputError, one line) writing ``record`` over another commit's record; see the module docstring."""
    if parent_version is None:   # a first split, or a dataset from before versions
        return
    n = record["version"]
    newest = newest_record(out)
    name = versions.record_name(n)
    if newest > n or (newest == n and not _same_commit(out / name, record)):
        raise OutputError(f"{command} refused: manifest.json of {str(out)!r} says version {parent_version} but "
                          f"{versions.VERSIONS_DIR}/ holds records up to version {newest} ({name} is another commit); "
                          f"was manifest.json edited by hand? Restore it from a backup (see datagen log {out})")
