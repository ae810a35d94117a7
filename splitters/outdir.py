"""The output directory's life cycle.

A split claims ``--out`` only when it is absent or empty, and marks it with
``.datagen-split`` while it works; shards are written into ``.datagen-staging``
and moved into place at the end, then the manifest is written last. So a
directory without ``manifest.json`` is never a dataset, and a directory with
the marker but no manifest is an interrupted split that the next run may clear.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from datagen.errors import OutputError
from datagen.manifest import MANIFEST_NAME, read_manifest

MARKER = ".datagen-split"
STAGING = ".datagen-staging"


def _clear(out: Path) -> None:
    """Remove everything inside ``out`` (the manifest first, so nothing is half a dataset)."""
    manifest = out / MANIFEST_NAME
    if manifest.exists():
        manifest.unlink()
    for child in out.iterdir():
        if child.name == MARKER:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def up_to_date(out: Path, semantic_config: dict, source_stamps: list[dict]) -> bool:
    """True when ``out`` holds a finished split of this config from unchanged sources."""
    try:
        manifest = read_manifest(out)
    except Exception:
        return False
    stored = [{"path": s.path, "bytes": s.bytes, "mtime": s.mtime, "etag": s.etag} for s in manifest.sources]
    return manifest.config == json.loads(json.dumps(semantic_config)) and stored == source_stamps


def claim(out: Path, overwrite: bool) -> str:
    """Make ``out`` ready for a new split and mark it. Returns what was done."""
    action = "created"
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {str(out)!r} exists and is not a directory")
    if out.exists():
        entries = [p.name for p in out.iterdir()]
        if (out / MANIFEST_NAME).exists():
            if not overwrite:
                raise OutputError(
                    f"--out {str(out)!r} already holds a dataset made with other options or from changed "
                    "sources; pass --overwrite to replace it"
                )
            _clear(out)
            action = "replaced"
        elif MARKER in entries:
            _clear(out)
            action = "restarted after an interrupted split"
        elif entries:
            shown = ", ".join(sorted(entries)[:3])
            raise OutputError(f"--out {str(out)!r} is not empty (holds {shown}{', ...' if len(entries) > 3 else ''}); "
                              "choose an empty or new directory")
        else:
            action = "used empty directory"
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("a split is being written here; without manifest.json this is not a dataset\n")
    staging = out / STAGING
    staging.mkdir(exist_ok=True)
    return action


def _remove_tree(path: Path) -> None:
    """Delete a staging tree; its big files are unlinked in parallel (freeing their
    page-cache pages is what takes the time)."""
    from concurrent.futures import ThreadPoolExecutor

    if not path.exists():
        return
    files = [p for p in path.rglob("*") if p.is_file()]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        list(pool.map(lambda p: p.unlink(missing_ok=True), files))
    shutil.rmtree(path, ignore_errors=True)


def release(out: Path) -> None:
    """Remove the staging area and the marker after a successful split."""
    _remove_tree(out / STAGING)
    marker = out / MARKER
    if marker.exists():
        marker.unlink()


def abandon(out: Path, created: bool) -> None:
    """After a failure: remove everything this split wrote."""
    if not out.exists():
        return
    if (out / MANIFEST_NAME).exists():
        raise OutputError(f"internal: refusing to clear {str(out)!r}, it holds a manifest")
    _clear(out)
    marker = out / MARKER
    if marker.exists():
        marker.unlink()
    if created:
        try:
            os.rmdir(out)
        except OSError:
            pass
