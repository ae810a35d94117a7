"""Publishing a finished split: shards into place, then the one commit, then clean-up.

The commit rule: shards are immutable files under names no earlier version used;
one manifest write is the commit; a failed or killed run leaves the previous
dataset intact, and never deletes what it did not write.

- Names are derived from content: ``part-00000-<first 16 hex of sha256>.parquet``.
  The same inputs and options give the same bytes, hence the same names, whether
  or not an earlier run was killed; a name an old manifest lists with other
  content cannot occur, so moving a new shard into place never touches an old one.
- Before anything moves, the journal records the shards, directories and version
  records about to be created and the sha256 of the manifest about to be written
  (see journal.py).
- Shards move from the staging tree into place (``os.replace``, same filesystem),
  the version record ``_versions/<N>.json`` is written (contract/versions.py), then
  ``manifest.json`` is replaced atomically: the commit. Then, by the same code a
  rerun after a kill uses, the staging tree and the journal are deleted. A commit
  deletes no shard: older versions (and generators reading them) keep theirs until
  ``datagen vacuum``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import os
from pathlib import Path
from typing import Callable

from datagen.contract.errors import OutputError
from datagen.contract.format import FORMAT_VERSION, MANIFEST_NAME, Manifest, ShardEntry
from datagen.contract import versions
from datagen.contract.hashing import sha256_file
from datagen.contract import shardtable
from datagen.contract.manifest import atomic_write_text, manifest_text, read_manifest, render_manifest
from datagen.contract.sourcecheck import source_change
from datagen.contract.render import column_texts, joined_texts

from . import journal
from .append_parent import TableParent, render_after, shard_paths
from .recordguard import check_next_record

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


def _existing_same(path: Path, sha256: str) -> bool:
    """Is the file at ``path`` a shard with this content (one an older version listed)?"""
    try:
        return path.is_file() and not path.is_symlink() and sha256_file(str(path)) == sha256
    except OSError:
        return False


def _same_content(a: Manifest, b: Manifest) -> bool:
    """Do two manifests describe the same dataset (all but time, tool version, version number and format)?
    A source read again with the same bytes under another mtime (copied over, touched) is the same source
    (contract/sourcecheck.py ``source_change``): ``a``'s mtime is kept, and no version is made for it."""
    skip = ("created_at", "tool_version", "version", "version_record", "format_version")
    if len(a.sources) == len(b.sources):
        b = dataclasses.replace(b, sources=[y if x.path != y.path or source_change(x, y.bytes, y.mtime, y.sha256)
                                            else dataclasses.replace(y, mtime=x.mtime)
                                            for x, y in zip(a.sources, b.sources)])
    return dataclasses.replace(a, **{k: None for k in skip}) == dataclasses.replace(b, **{k: None for k in skip})


def _render(manifest: Manifest, prev: Manifest | None) -> tuple[str, str | None]:
    """(the validated text of ``manifest``, the sha256 of ``prev``'s text as this version writes it).
    When ``manifest`` keeps ``prev``'s shards as its first ones (an append), only the added shards are
    checked again (render_manifest's ``parent``), and their columns' text is spliced onto the parent's,
    which is rendered once for both texts."""
    if prev is None:
        return render_manifest(manifest), None
    k, names = len(prev.shards), manifest.group_names
    kept = manifest.shards[:k]
    texts = None
    if prev.format_version >= 2 and manifest.format_version >= 2 and prev.group_names == names and \
            len(kept) == k and all(map(operator.is_, kept, prev.shards)):
        old, added = shardtable.of_entries(prev.shards, names), shardtable.of_entries(manifest.shards[k:], names)
        if old is not None and added is not None:
            texts = column_texts(old), column_texts(added)
    if texts is None:
        parent_text, text = manifest_text(prev), render_manifest(manifest, parent=prev)
    else:
        parent_text = manifest_text(prev, texts=texts[0])
        text = render_manifest(manifest, parent=prev, texts=joined_texts(*texts))
    return text, hashlib.sha256(parent_text.encode("utf-8")).hexdigest()


def publish(out: Path, shard_root: Path, staged: list[ShardEntry],
            build: Callable[[list[ShardEntry]], Manifest], command: str = "split", settings: dict | None = None,
            replace_all: bool = True, keep: list[ShardEntry] = (), prev: Manifest | TableParent | None = None,
            before_cleanup: Callable[[], None] | None = None) -> Manifest:
    """Move ``staged`` (paths relative to ``shard_root``) into ``out`` under content names and
    commit the manifest ``build`` makes from ``keep`` + them as the next version (its record first,
    then ``manifest.json``), and clean up. ``replace_all``: the commit removes every shard of the
    previous version (a split or an overwrite); otherwise it keeps ``keep``'s. ``prev``: the current
    manifest when the caller has read it already (under the lock); an append may give it as a
    :class:`TableParent` (then ``keep`` is empty, ``build`` gets the added shards only and must return a
    manifest holding only them, and the returned manifest holds only them). ``before_cleanup``: called
    before the staging tree is removed (split.py: wait for the staged files' deletion). Returns the manifest."""
    shards = [dataclasses.replace(s, path=content_name(s.path, s.sha256)) for s in staged]
    if prev is None and (out / MANIFEST_NAME).exists():
        prev = read_manifest(out)
    head = prev.head if isinstance(prev, TableParent) else prev
    version = head.number + 1 if head is not None else 1
    # a local commit writes no footer pack: one carried over from a copied bucket dataset would be stale
    # (and every commit writes the current format: an append to a format-1 dataset makes a format-2 version)
    manifest = dataclasses.replace(build(list(keep) + shards), version=version, format_version=FORMAT_VERSION,
                                   version_record=versions.record_name(version), footer_pack=None)
    rendered = None
    if isinstance(prev, TableParent):  # adds shards to all of the parent's: never the same content
        rendered = render_after(manifest, prev)
        if rendered is None:  # the splice does not apply: the typed parent, as for any other commit
            prev = prev.typed()
            manifest = dataclasses.replace(manifest, shards=prev.shards + manifest.shards)
    # the same dataset again (e.g. the rerun of an overwrite that committed, or one repairing a damaged
    # shard): the shards are put in place, but no version is made and the manifest stays as it is
    unchanged = rendered is None and prev is not None and _same_content(prev, manifest)
    records = []
    if unchanged:
        text, commit_sha = None, hashlib.sha256((out / MANIFEST_NAME).read_bytes()).hexdigest()
    else:
        text, parent_text_sha = rendered or _render(manifest, prev)
        text = text.encode("utf-8")   # encoded once: hashed, then written
        commit_sha = hashlib.sha256(text).hexdigest()
        if head is not None and head.version is None:  # a dataset from before versions: its state is record 1
            whole = prev.typed() if isinstance(prev, TableParent) else prev
            records.append((versions.record_name(1),
                            versions.make_record(None, None, whole, "split", whole.config, True)))
        # the parent's hash: of its bytes (what a generator config records); the record also holds the
        # hash of its text as replayed now (the same, unless it was written in an older layout)
        if isinstance(prev, TableParent):  # the bytes read and checked under the lock (the same file)
            parent_sha, record_parent = prev.sha256, head   # only the added shards are in manifest.shards
        else:
            parent_sha = None if prev is None else hashlib.sha256((out / MANIFEST_NAME).read_bytes()).hexdigest()
            record_parent = prev
        records.append((manifest.version_record, versions.make_record(record_parent, parent_sha, manifest, command,
                                                                       settings or manifest.config, replace_all,
                                                                       parent_text_sha)))
        if prev is not None:
            check_next_record(out, head.version, records[-1][1], command)
    old = shard_paths(prev) if prev is not None else {}
    for s in shards:  # a shard an older version listed with this very content is already in place
        if s.path not in old and _existing_same(out.joinpath(*s.path.split("/")), s.sha256):
            old[s.path] = s.sha256
    written, dirs = _plan(out, shards, old)
    journal.announce(out, commit_sha, written, dirs, [], [name for name, _ in records])
    for rel in dirs:  # parents come before children
        os.mkdir(out.joinpath(*rel.split("/")))
    for before, after in zip(staged, shards):
        os.replace(shard_root.joinpath(*before.path.split("/")), out.joinpath(*after.path.split("/")))
    done = before_cleanup or (lambda: None)
    if unchanged:
        done()
        journal.recover(out)
        return prev
    os.makedirs(out / versions.VERSIONS_DIR, exist_ok=True)
    for name, record in records:
        atomic_write_text(out.joinpath(*name.split("/")), versions.record_text(record), tmp_name=journal.RECORD_TMP)
    atomic_write_text(out / MANIFEST_NAME, text, tmp_name=journal.MANIFEST_TMP)  # the commit
    done()
    journal.recover(out, written_sha256=commit_sha)
    return manifest
