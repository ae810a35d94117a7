"""Lineage rows are unique across a dataset's shards (``datagen verify``, full mode).

Each row a shard holds names its origin, ``(_source_id, _source_row)``. Across all shards every
such pair may appear once, and source ``i`` must be named by exactly ``rows_read - rows_dropped``
rows: a shard copied under another name (or another group) would otherwise pass every per-shard
check and the generator would yield its rows twice. One byte per source row is kept (a row seen),
so checking a dataset whose sources hold 100M rows takes 100 MB.
"""

from __future__ import annotations

import threading

import numpy as np

from .format import Manifest, ShardEntry
from .shardcheck import ShardProblem


class LineageSeen:
    def __init__(self, manifest: Manifest):
        self.sources = manifest.sources
        reads = np.asarray([s.rows_read for s in manifest.sources], dtype=np.int64)
        self.offset = np.concatenate([[0], np.cumsum(reads)]).astype(np.int64)
        self.seen = np.zeros(int(self.offset[-1]), dtype=bool)
        self.lock = threading.Lock()

    def _name(self, sid: int) -> str:
        return f"source {sid} ({self.sources[sid].path!r})"

    def add(self, shard: ShardEntry, ids: np.ndarray, rows: np.ndarray) -> None:
        """Mark the pairs of one row group (ids and rows already checked in range); a pair seen before,
        in this shard or another, is a ShardProblem naming the source and the row."""
        keys = self.offset[ids] + rows
        with self.lock:
            again = self.seen[keys]
            if not again.any():
                ordered = np.sort(keys)
                twice = np.flatnonzero(ordered[1:] == ordered[:-1])
                if not len(twice):
                    self.seen[keys] = True
                    return
                key = int(ordered[twice[0]])
            else:
                key = int(keys[np.flatnonzero(again)[0]])
        sid = int(np.searchsorted(self.offset, key, side="right") - 1)
        raise ShardProblem(shard, "mismatched", f"it holds {self._name(sid)} row {key - int(self.offset[sid])} "
                                                "again (another shard or row holds it too): lineage rows must be "
                                                "unique; a shard copied by hand? re-run the split")

    def count_problems(self) -> list[str]:
        """One line per source whose rows the shards do not name exactly ``rows_read - rows_dropped`` times."""
        out = []
        for sid, src in enumerate(self.sources):
            got = int(self.seen[self.offset[sid]:self.offset[sid + 1]].sum())
            want = src.rows_read - src.rows_dropped
            if got != want:
                out.append(f"{self._name(sid)}: its shards hold {got:,} of its rows, the manifest says "
                           f"{want:,} (rows_read - rows_dropped); re-run the split")
        return out
