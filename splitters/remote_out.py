"""An ``--out`` in object storage (``s3://bucket/prefix``): lock, inspect, commit, clean up.

Object stores have atomic single-object PUTs and no rename, so the commit rule becomes:

* shards are uploaded (by the reduce tasks themselves, wherever they run) under content names
  (``<group>/part-NNNNN-<sha16>.parquet``), names no earlier split used for other bytes: an
  identical rerun rewrites identical objects and never touches a listed object with other content;
* then ``manifest.json`` is written with ONE PUT: the commit. Before it, nothing names the new
  shards; an interrupted or failed split never leaves a manifest (the old one stays current).
  (Version records, see COMMIT_DESIGN.md, are written just before this PUT: ``commit``.)
* after the commit, with ``--overwrite``, the shards the old manifest listed and the new one does
  not are deleted; then the run's staging child (staging_area.py) and the lock.

One split at a time: ``DIR/.datagen.lock`` (remote_lock.py). Under the lock, before anything else,
the shard objects and footer packs the committed manifest does not list are deleted (``sweep``: a
killed run's uploads, an old version's objects an overwrite killed after its commit left).
"""

from __future__ import annotations

import re

from datagen.contract.errors import DatagenError, ManifestError, OutputError
from datagen.contract.footerpack import PACK_DIR
from datagen.contract.format import MANIFEST_NAME, Manifest
from datagen.contract.remote import RemoteDataset
from datagen.contract.storage import join, storage_error

from . import journal
from datagen.contract.outlock import LOCK_NAME

from .remote_lock import BucketLock

STAGING = journal.STAGING
# the names a split uploads: shards (content_name, below hive directories) and footer packs
OURS = re.compile(r"(?:[^/=.][^/=]*=[^/]*/)*part-\d{5,}-[0-9a-f]{16}\.parquet|" + re.escape(PACK_DIR) + r"/[0-9a-f]{16}\.bin")


class RemoteOut(BucketLock):
    def __init__(self, url: str, storage_options: dict | None = None):
        self.dataset = RemoteDataset(url, storage_options)
        self.url, self.fs, self.root = self.dataset.url, self.dataset.fs, self.dataset.root
        self.locked = False

    def key(self, rel: str) -> str:
        return join(self.root, rel)

    def _err(self, exc: BaseException) -> DatagenError:
        return storage_error(exc, self.url, "--out")

    def forget_uploads(self, before: set[str]) -> None:
        """After a failed split: delete the shard objects (and footer pack) that appeared during this run (``before`` is
        the listing taken under the lock) and that the committed manifest does not list. Nothing is
        deleted unless the committed manifest (if any) can be read."""
        try:
            try:
                committed = self.dataset.read_manifest_with_hash()[0]
                listed = {s.path for s in committed.shards}
                if committed.footer_pack is not None:
                    listed.add(committed.footer_pack.path)
            except ManifestError as exc:
                if "not a finished dataset" not in str(exc):
                    return
                listed = set()
            self.fs.invalidate_cache(self.root)
            ours = lambda rel: journal.shard_like(rel) or (rel.startswith(PACK_DIR + "/") and rel.endswith(".bin"))
            stray = [self.key(rel) for rel in self.listing() if ours(rel) and rel not in before and rel not in listed]
            if stray:
                self.fs.rm(stray)
        except Exception:
            pass  # best effort: unlisted objects are never read; the next split may overwrite them

    def sweep(self, have: dict[str, int], committed: Manifest | None) -> dict[str, int]:
        """Under the lock, before anything else: delete the shard objects and footer packs under --out
        that the committed manifest (``committed``; None: no dataset yet) does not list: uploads of a
        split that was killed (kill -9, a lost client, a cluster's tasks still running after the
        client gave up) and an old version's objects an overwrite killed right after its commit left.
        Only datagen's own names (shards, ``_footers/*.bin``); never a listed object. Returns ``have``
        (rel -> size, the listing taken under the lock) without what was deleted."""
        listed = set() if committed is None else {s.path for s in committed.shards}
        if committed is not None and committed.footer_pack is not None:
            listed.add(committed.footer_pack.path)
        stray = [rel for rel in have if rel not in listed and OURS.fullmatch(rel)]
        if stray:
            try:
                self.fs.rm([self.key(rel) for rel in stray])
            except Exception as exc:
                raise self._err(exc) from None
            self.fs.invalidate_cache(self.root)
        return {rel: size for rel, size in have.items() if rel not in set(stray)}

    # -- what --out holds --------------------------------------------------------------------------
    def listing(self) -> dict[str, int]:
        """rel path -> size of every object under --out (one recursive listing)."""
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return {}
        except Exception as exc:
            raise self._err(exc) from None
        prefix = self.root.rstrip("/") + "/"
        return {k[len(prefix):]: int(v.get("size") or 0) for k, v in found.items() if k.startswith(prefix)}

    def inspect(self) -> Manifest | None:
        """The dataset --out holds, or None; anything that is not ours is refused and left alone."""
        try:
            manifest, _ = self.dataset.read_manifest_with_hash()
            return manifest
        except ManifestError as exc:
            if "not a finished dataset" not in str(exc):
                if "bucket" in str(exc) or "credentials" in str(exc) or "denied" in str(exc) \
                        or "endpoint" in str(exc):
                    raise OutputError(str(exc).replace("dataset", "--out", 1)) from None
                raise OutputError(f"--out {self.url!r} holds a manifest.json that is not a valid datagen manifest "
                                  f"({exc}); refusing to touch it, choose another prefix") from None
        foreign = [rel for rel in self.listing() if rel.split("/")[0] not in (LOCK_NAME, STAGING, PACK_DIR)
                   and not journal.shard_like(rel)]
        if foreign:
            shown = ", ".join(sorted(foreign)[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OutputError(f"--out {self.url!r} is not empty and holds no dataset (holds {shown}); "
                              "choose an empty or new prefix")
        return None

    def missing_shards(self, manifest: Manifest) -> str | None:
        """Why the listed shards are not all there with their sizes (None when they are)."""
        have = self.listing()
        for s in manifest.shards:
            if have.get(s.path) != s.bytes:
                return f"whose shard {s.path!r} is {'missing' if s.path not in have else 'of another size'}"
        return None

    def put_footer_pack(self, manifest: Manifest) -> Manifest:
        """PUT the footer pack of ``manifest``'s shards (footerpack.py; tails read with ranged GETs,
        64 at a time) and return the manifest naming it. Runs before the commit: an interrupted split
        leaves at most an unnamed pack object."""
        import dataclasses
        from concurrent.futures import ThreadPoolExecutor

        from datagen.contract.footerpack import build

        with ThreadPoolExecutor(max_workers=min(64, len(manifest.shards)), thread_name_prefix="datagen-pack") as pool:
            tails = [raw[4:] for raw in pool.map(self.dataset.footer_bytes, manifest.shards)]
        raw, pack = build(tails, [s.sha256 for s in manifest.shards])
        try:
            self.fs.pipe_file(self.key(pack.path), raw)
        except Exception as exc:
            raise self._err(exc) from None
        return dataclasses.replace(manifest, footer_pack=pack)

    # -- commit ------------------------------------------------------------------------------------
    def commit(self, text: str, old: Manifest | None, manifest: Manifest) -> None:
        """The single commit (one PUT of manifest.json), then the old manifest's obsolete shards go.
        (A version record would be PUT here, just before the manifest.)"""
        try:
            self.fs.pipe_file(self.key(MANIFEST_NAME), text.encode("utf-8"))  # the commit
        except Exception as exc:
            raise self._err(exc) from None
        if old is not None:
            keep = {s.path for s in manifest.shards}
            obsolete = [self.key(s.path) for s in old.shards if s.path not in keep and journal.shard_like(s.path)]
            if old.footer_pack is not None and old.footer_pack != manifest.footer_pack:
                obsolete.append(self.key(old.footer_pack.path))
            if obsolete:
                try:
                    self.fs.rm(obsolete)
                except Exception:
                    pass  # unlisted now: never read; a later vacuum may remove them
