"""Publishing a finished split: shards into place, then the one commit, then clean-up.

The commit rule: shards are immutable files under names no earlier version used;
one manifest write is the commit; a failed or killed run leaves the previous
dataset intact, and never deletes what it did not write.

- Names are derived from content: ``part-00000-<first 16 hex of sha256>.parquet``.
  The same inputs and options give the same bytes, hence the same names, whether
  or not an earlier run was killed; a name an old manifest lists with other
  content cannot occur, so moving a new shard into place never touches an old one.
- Before anything moves, the journal records the shards and directories about
  to be created, the sha256 of the manifest about to be written and the old
  shards the commit makes obsolete (see journal.py).
- Shards move from the staging tree into place (``os.replace``, same filesystem),
  then ``manifest.json`` is replaced atomically: the commit. Then, by the same
  code a rerun after a kill uses, the obsolete shards, the staging tree and the
  journal are deleted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Callable

from datagen.contract.errors import OutputError
from datagen.contract.format import MANIFEST_NAME, Manifest, ShardEntry
from datagen.contract.manifest import atomic_write_text, read_manifest, render_manifest

from . import journal

NAME_HASH_CHARS = 16


def content_name(rel: str, sha256: str) -> str:
    """``month=01/part-00000.parquet`` -> ``month=01/part-00000-<sha256[:16]>.parquet``."""
    head, _, base = rel.rpartition("/")
    stem = base[: -len(".parquet")] if base.endswith(".parquet") else base
    name = f"{stem}-{sha256[:NAME_HASH_CHARS]}.parquet"
    return f"{head}/{name}" if head else name


def _plan(out: Path, shards: list[ShardEntry], old: dict[str, str]) -> tuple[list[str], list[str]]:
    """(shard paths to create, directories to create); refuses to write over what is not ours."""
    written, dirs, seen = [], [], set()
    for s in shards:
        parts = s.path.split("/")
        for i in range(1, len(parts)):
            rel = "/".join(parts[:i])
            if rel in seen:
                continue
            seen.add(rel)
            path = out.joinpath(*parts[:i])
            if not os.path.lexists(path):
                dirs.append(rel)
            elif path.is_symlink() or not path.is_dir():
                raise OutputError(f"--out {str(out)!r}: {rel!r} is in the way of the shards (a file or a symlink, "
                                  "not a directory the split made); remove it")
        dest = out.joinpath(*parts)
        if not os.path.lexists(dest):
            written.append(s.path)
        elif old.get(s.path) != s.sha256:
            raise OutputError(f"--out {str(out)!r} holds {s.path!r}, which its manifest does not list with this "
                              "content; remove it")
    return written, dirs


def publish(out: Path, shard_root: Path, staged: list[ShardEntry],
            build: Callable[[list[ShardEntry]], Manifest]) -> Manifest:
    """Move ``staged`` (paths relative to ``shard_root``) into ``out`` under content names,
    commit the manifest ``build`` makes from them, and clean up. Returns the manifest."""
    shards = [dataclasses.replace(s, path=content_name(s.path, s.sha256)) for s in staged]
    manifest = build(shards)
    text = render_manifest(manifest)
    old = {s.path: s.sha256 for s in read_manifest(out).shards} if (out / MANIFEST_NAME).exists() else {}
    written, dirs = _plan(out, shards, old)
    new_paths = {s.path for s in shards}
    # an old manifest entry that does not look like a shard (hand-edited?) is left alone, never deleted
    obsolete = sorted(p for p in old if p not in new_paths and journal.shard_like(p))
    journal.announce(out, hashlib.sha256(text.encode("utf-8")).hexdigest(), written, dirs, obsolete)
    for rel in dirs:  # parents come before children
        os.mkdir(out.joinpath(*rel.split("/")))
    for before, after in zip(staged, shards):
        os.replace(shard_root.joinpath(*before.path.split("/")), out.joinpath(*after.path.split("/")))
    atomic_write_text(out / MANIFEST_NAME, text, tmp_name=journal.MANIFEST_TMP)  # the commit
    journal.recover(out)
    return manifest
