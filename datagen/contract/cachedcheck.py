"""The shard checker that reads a remote dataset's shards through its :class:`ShardCache`."""

from __future__ import annotations

from .errors import ShardError
from .format import Manifest, ShardEntry
from .shardcache import ShardCache
from .shardcheck import ShardChecker, ShardProblem


class CachedShardChecker(ShardChecker):
    """The checks of :class:`ShardChecker`, on shards read through a :class:`ShardCache`: ``locate``
    yields an open, size-checked local copy (sha256 checked on download); the footer level needs only
    the footer (one ranged GET, cached), so opening a dataset never downloads whole shards."""

    def __init__(self, cache: ShardCache, manifest: Manifest):
        super().__init__(cache.cache_dir, manifest)
        self.cache = cache

    def locate_stat(self, shard: ShardEntry):
        try:
            return self.cache.open(shard), ("sha256", shard.sha256)
        except ShardError as exc:
            raise ShardProblem(shard, "changed" if "changed" in str(exc) else "unreadable",
                               str(exc).split(": ", 1)[-1]) from None

    def drop_cached(self, shard: ShardEntry) -> bool:
        """Reading the cached copy failed: delete it (the next read downloads it again, sha256-checked)."""
        return self.cache.drop(shard)

    def check_hash(self, shard: ShardEntry, real) -> None:
        return None  # the download checked it (a cached copy was checked when it was downloaded)

    def check(self, shard: ShardEntry, level: str = "footer") -> tuple:
        if level == "sha256":
            fh, identity = self.locate_stat(shard)
            with fh:
                return self.read_footer(shard, fh), identity
        if level == "locate":
            return None, ("sha256", shard.sha256)
        meta = self.cache.footer(shard)
        self.check_footer(shard, meta)
        return meta, ("sha256", shard.sha256)
