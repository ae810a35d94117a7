"""Where the generator's shards come from: a local directory (read in place, unchanged code
paths) or a dataset URL (``s3://...``) read through a local shard cache.

``DatasetStore.open(directory, storage)`` reads the manifest (locally, or with one GET) and
``checker(manifest, selected)`` gives the ShardChecker that ``shards.ShardAccess`` reads through:
for a URL, a ``CachedShardChecker`` whose shards are downloaded on first use into ``cache_dir``
(checked against the manifest's size and sha256) and evicted LRU beyond ``cache_size``.
The next window's shards are fetched by the window prefetch (windows.py), in the background.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from datagen.contract.errors import ConfigError
from datagen.contract.format import Manifest
from datagen.contract.manifest import read_manifest_with_hash
from datagen.contract.shardcheck import ShardChecker
from datagen.contract.storage import is_remote


@dataclass
class Storage:
    """How to reach a dataset URL (RuntimeOptions' storage fields)."""
    storage_options: dict = field(default_factory=dict)
    cache_dir: str | None = None
    cache_size: int = 2 << 30


class DatasetStore:
    def __init__(self, directory, storage: Storage | None, version: int | None = None):
        self.storage = storage or Storage()
        self.remote = None
        if is_remote(directory):
            from datagen.contract.remote import RemoteDataset, check_remote_version

            self.remote = RemoteDataset(str(directory), self.storage.storage_options)
            self.directory = self.remote.url
            self.manifest, self.manifest_sha256 = self.remote.read_manifest_with_hash()
            check_remote_version(self.directory, version, self.manifest.number, "version=",
                                 "leave version=None for the current one")
        else:
            from datagen.contract.storage import refuse_unused_options

            refuse_unused_options(self.storage.storage_options, [directory], f"the dataset {str(directory)!r}",
                                  "storage_options")
            self.directory = Path(os.path.abspath(directory))   # once: a later os.chdir changes nothing
            self.manifest, self.manifest_sha256 = read_manifest_with_hash(self.directory, version)

    @property
    def location(self) -> str:
        """The dataset as a config names it: a URL, or the resolved local path."""
        return self.directory if self.remote is not None else str(Path(self.directory).resolve())

    def checker(self, manifest: Manifest, selected: list[int]) -> ShardChecker:
        if self.remote is None:
            return ShardChecker(self.directory, manifest)
        from datagen.contract.cachedcheck import CachedShardChecker
        from datagen.contract.shardcache import ShardCache

        if self.storage.cache_dir is None:
            raise ConfigError(f"dataset {self.directory!r} is remote: give cache_dir (a local directory for "
                              "its shards)")
        largest = max(manifest.shards[i].bytes for i in selected)
        if largest > self.storage.cache_size:
            shard = max((manifest.shards[i] for i in selected), key=lambda s: s.bytes)
            raise ConfigError(f"cache_size {self.storage.cache_size:,} bytes is smaller than the largest shard a "
                              f"window needs ({shard.path!r}, {largest:,} bytes); raise cache_size to at least "
                              f"{largest:,}")
        cache = ShardCache(self.remote, self.storage.cache_dir, self.storage.cache_size)
        wanted = [manifest.shards[i] for i in selected]
        cache.fill_from_pack(manifest, wanted)  # one GET when the manifest names a footer pack
        cache.prefetch_footers(wanted)  # parallel; none when cached
        return CachedShardChecker(cache, manifest)
