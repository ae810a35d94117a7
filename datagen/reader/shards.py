"""Shard access for the generator: the selected shards checked once, then opened and read.

Every check of a shard file (inside DIR, regular file of the manifest's size, footer, sha256,
lineage values) is made by ``datagen.contract.shardcheck``; this module only decides when.
At construction the selected shards are checked (in parallel) and their footers kept in a
stash, so opening a shard later parses no footer twice; opened footers are cached per process
while the file keeps its identity. A row group read here must have the manifest's row count, and
pages written with CRC checksums are verified on read (a flipped byte is a ShardError, never a value).
The footers also give per-column statistics (footer_stats.py), summarised before they are dropped.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow._parquet import ParquetReader  # what pyarrow.parquet.ParquetFile wraps

from datagen.contract.errors import ShardError
from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN, Manifest
from datagen.contract.shardcheck import FooterStash, ShardChecker, ShardProblem, check_shards, one_line
from .footer_stats import footer_stats
from .forksafe import ProcessLocal
from .outputs import lineage_int64

FOOTER_CACHE = 4096  # Parquet footers kept per generator, so later epochs skip re-parsing them
READ_THREADS = min(4, os.cpu_count() or 1)  # shards checked (and read) in parallel


class ShardAccess(ProcessLocal):
    """The selected shards of ``manifest`` in ``directory``, checked at ``verify`` level ("size" checks
    size and footer, "sha256" also re-hashes every file)."""

    RUNTIME = ("_lock", "_footers")

    def __init__(self, directory: Path, manifest: Manifest, selected: list[int], verify: str,
                 columns: list[str] = (), text_columns: list[str] = (), checker: ShardChecker | None = None):
        self.manifest = manifest
        self.text_columns = list(text_columns) or None  # read dictionary-encoded: a repeated value held once
        self.checker = checker or ShardChecker(directory, manifest)  # a remote dataset's reads via its cache
        level = "sha256" if verify == "sha256" else "footer"
        footers = check_shards(self.checker, [manifest.shards[i] for i in selected], level, READ_THREADS)
        self.stats = footer_stats([f[0] for f in footers], list(columns), [manifest.shards[i].path for i in selected])  # before footers are dropped
        self._stash = FooterStash(dict(list(zip(selected, footers))[:FOOTER_CACHE]))  # read once, used on open
        self._start_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._footers: OrderedDict = OrderedDict()

    def open(self, index: int) -> "OpenShard":
        """Open a shard (checking its real path and size), reusing its parsed footer while the file
        is the one it came from; a footer parsed here is checked against the manifest first."""
        shard = self.manifest.shards[index]
        path, identity = self.checker.locate_stat(shard)
        with self._lock:
            meta, seen, leaves = self._footers.get(index, (None, None, None))
        cached = meta is not None and seen == identity
        if not cached:
            meta = self._stash.take(index, identity)  # read and checked at construction
        reader = ParquetReader()
        try:  # pyarrow's own reader (ParquetFile's, without its per-open Python work); reads are not
            # pre-buffered: pre-buffering hands every column chunk to Arrow's I/O threads (measured: more CPU)
            reader.open(path, metadata=meta, pre_buffer=False, page_checksum_verification=True,
                        read_dictionary=self.text_columns, arrow_extensions_enabled=True)
        except Exception as exc:
            raise ShardProblem(shard, "unreadable", f"not a readable Parquet file ({one_line(exc)})") from None
        if meta is None:
            self.checker.check_footer(shard, reader.metadata)
        if not cached:
            leaves = {}
            for i, leaf_path in enumerate(reader.column_paths):  # a column's Parquet leaves, by top-level name
                leaves.setdefault(leaf_path[0], []).append(i)
            with self._lock:
                self._footers[index] = (reader.metadata, identity, leaves)
                while len(self._footers) > FOOTER_CACHE:
                    self._footers.popitem(last=False)
        return OpenShard(reader, leaves)

    def refetch(self, index: int) -> bool:
        """Reading shard ``index`` failed: when it was a cached copy of a remote shard, drop that copy
        (and its parsed footer) so that the next read downloads it again; False for a local shard."""
        drop = getattr(self.checker, "drop_cached", None)
        if drop is None:
            return False
        with self._lock:
            self._footers.pop(index, None)
        return drop(self.manifest.shards[index])

    def read_row_group(self, pf: "OpenShard", index: int, row_group: int, columns: list[str],
                       rows: int | None = None) -> pa.Table:
        """One row group of shard ``index`` (open as ``pf``); a file changed under us becomes a
        ShardError naming it, and so does a row count other than ``rows`` (when given)."""
        shard = self.manifest.shards[index]
        try:
            table = pf.read(row_group, columns)
        except (OSError, pa.ArrowException) as exc:
            raise ShardProblem(shard, "unreadable", f"row group {row_group}: {one_line(exc)}") from None
        if rows is not None and table.num_rows != rows:
            raise ShardError(f"shard {shard.path!r} row group {row_group} has {table.num_rows} rows, "
                             f"manifest says {rows}")
        return table

    def lineage(self, index: int, row_group: int) -> tuple[np.ndarray, np.ndarray]:
        """(source ids, source rows) of a row group, as int64, checked against the manifest's sources."""
        shard = self.manifest.shards[index]
        with self.open(index) as pf:
            t = self.read_row_group(pf, index, row_group, [SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN])
        where = f"shard {shard.path!r}"
        return self.checker.lineage(shard, row_group, lineage_int64(t.column(0), SOURCE_ID_COLUMN, where),
                                    lineage_int64(t.column(1), SOURCE_ROW_COLUMN, where))


class OpenShard:
    """An open shard: pyarrow's ``ParquetReader`` and its columns' Parquet leaf indices (what
    ``ParquetFile.read_row_group`` computes from the column names on every call)."""

    def __init__(self, reader: ParquetReader, leaves: dict[str, list[int]]):
        self.reader, self.leaves = reader, leaves

    @property
    def metadata(self):
        return self.reader.metadata

    def read(self, row_group: int, columns: list[str]) -> pa.Table:
        """Columns of one row group (a name the file lacks is left out, as ``ParquetFile`` does)."""
        indices = [i for c in columns for i in self.leaves.get(c, ())]
        return self.reader.read_row_groups([row_group], column_indices=indices, use_threads=False)

    def __enter__(self) -> "OpenShard":
        return self

    def __exit__(self, *exc) -> None:
        self.reader.close()
