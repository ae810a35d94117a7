"""Shard files checked against the manifest: one helper for the generator and ``datagen verify``.

Three levels, each including the previous:

* ``locate``: the shard's real path (symlinks resolved) lies inside DIR's real path, is a
  regular file (never a FIFO or device that could block) and has the manifest's size;
* ``footer``: its Parquet footer is readable and matches the manifest: column names and types,
  rows, the row-group layout, and ``_source_id`` statistics within the manifest's source ids;
* ``sha256``: the whole file hashes to the manifest's sha256.

A failed check raises :class:`ShardProblem` (a :class:`ShardError`) naming the shard.
"""

from __future__ import annotations

import os
import stat

from .errors import ShardError
from .hashing import sha256_file
from .realpath import real_path
from .format import Manifest, ShardEntry

PHRASES = {"missing": "is missing", "changed": "changed", "unreadable": "is unreadable",
           "outside": "is outside the dataset directory", "mismatched": "does not match the manifest"}


class ShardProblem(ShardError):
    """One shard failed a check; ``line`` is the form ``datagen verify`` prints."""

    def __init__(self, shard: ShardEntry, kind: str, detail: str):
        self.shard_path, self.kind, self.detail = shard.path, kind, detail
        super().__init__(f"shard {shard.path!r} {PHRASES[kind]}: {detail}")

    @property
    def line(self) -> str:
        return f"{self.kind} shard {self.shard_path}: {self.detail}"


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A library error's message on one line, shortened (pyarrow's span several lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


class ShardChecker:
    """Checks the shards of ``manifest`` in ``directory`` (picklable: plain data only)."""

    def __init__(self, directory: str | os.PathLike, manifest: Manifest):
        self.directory = str(directory)
        self.manifest = manifest
        self.root = real_path(self.directory)
        self.columns = [(c.name, c.type) for c in manifest.schema]
        self.id_column = manifest.lineage_columns["source_id"]
        self.row_column = manifest.lineage_columns["source_row"]
        ids = [s.id for s in manifest.sources]  # 0..n-1 (a manifest rule)
        self.id_range = (min(ids), max(ids))
        self.rows_read = [s.rows_read for s in sorted(manifest.sources, key=lambda s: s.id)]

    # -- locate ----------------------------------------------------------------------------------
    def locate(self, shard: ShardEntry) -> str:
        """The shard's real path, after checking it stays inside DIR, is a regular file of the right size."""
        return self.locate_stat(shard)[0]

    def locate_stat(self, shard: ShardEntry) -> tuple[str, tuple]:
        """:meth:`locate`, and the file's identity (inode, size, mtime, ctime) to tell a later change."""
        path = os.path.join(self.directory, *shard.path.split("/"))
        real = real_path(path)
        if not real.startswith(os.path.join(self.root, "")):
            raise ShardProblem(shard, "outside", f"it resolves to {real!r}, outside {self.root!r} "
                                                 "(a symlink?); refusing to read it")
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise ShardProblem(shard, "missing", f"no file at {path!r}") from None
        except OSError as exc:
            raise ShardProblem(shard, "unreadable", f"{path!r}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(st.st_mode):
            raise ShardProblem(shard, "changed", f"{path!r} is not a regular file")
        if st.st_size != shard.bytes:
            raise ShardProblem(shard, "changed", f"{st.st_size:,} bytes, manifest says {shard.bytes:,}")
        return real, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    # -- footer ----------------------------------------------------------------------------------
    def read_footer(self, shard: ShardEntry, real: str):
        """Read and check the shard's Parquet footer; returns it (``pyarrow.parquet.FileMetaData``)."""
        import pyarrow.parquet as pq

        try:
            meta = pq.read_metadata(real)
        except Exception as exc:  # any defect of a file we did not write is a finding, not a crash
            raise ShardProblem(shard, "unreadable", f"not a readable Parquet file ({one_line(exc)})") from None
        self.check_footer(shard, meta)
        return meta

    def check_footer(self, shard: ShardEntry, meta) -> None:
        """Raise ShardProblem unless ``meta`` (the shard's footer) matches the manifest."""
        try:
            schema = meta.schema.to_arrow_schema()
            columns = [(f.name, str(f.type)) for f in schema]
            layout = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        except Exception as exc:
            raise ShardProblem(shard, "unreadable", f"its Parquet footer is corrupt ({one_line(exc)})") from None
        if columns != self.columns:
            raise ShardProblem(shard, "mismatched", _schema_difference(columns, self.columns))
        if meta.num_rows != shard.rows or layout != shard.row_groups:
            raise ShardProblem(shard, "mismatched", f"{meta.num_rows:,} rows in row groups {_short(layout)}, "
                                                    f"manifest says {shard.rows:,} rows in {_short(shard.row_groups)}")
        leaves = [meta.schema.column(i).path for i in range(meta.num_columns)]
        lo, hi = self.id_range
        for rg in range(meta.num_row_groups):
            low, high = self._int_stats(shard, meta, rg, leaves, self.id_column)
            if low < lo or high > hi:
                raise ShardProblem(shard, "mismatched", f"row group {rg} holds {self.id_column} values {low}..{high}, "
                                                        f"but the manifest lists sources {lo}..{hi}")
            first, last = self._int_stats(shard, meta, rg, leaves, self.row_column)
            most = max(self.rows_read[low:high + 1])  # the longest of the sources this row group draws from
            if first < 0 or last >= most:
                raise ShardProblem(shard, "mismatched", f"row group {rg} holds {self.row_column} values "
                                                        f"{first}..{last}, but its sources {low}..{high} hold at "
                                                        f"most {most:,} rows")

    def _int_stats(self, shard: ShardEntry, meta, rg: int, leaves: list[str], column: str) -> tuple[int, int]:
        """Min and max of an integer lineage column in row group ``rg``, from the footer's statistics
        (looked up by Parquet leaf path: a struct or map column before it has several leaves)."""
        try:
            stats = meta.row_group(rg).column(leaves.index(column)).statistics
            known = stats is not None and stats.has_min_max
            low, high = (stats.min, stats.max) if known else (None, None)
            nulls = stats.null_count if stats is not None and stats.has_null_count else 0
        except Exception as exc:
            raise ShardProblem(shard, "unreadable", f"its Parquet footer is corrupt ({one_line(exc)})") from None
        if not known:
            raise ShardProblem(shard, "mismatched", f"row group {rg} has no statistics for {column!r} "
                                                    "(not written by split-datasets)")
        if nulls or not (isinstance(low, int) and isinstance(high, int)):
            raise ShardProblem(shard, "mismatched", f"row group {rg} holds {column} values {low!r}..{high!r}"
                                                    f"{' and nulls' if nulls else ''}; expected integers")
        return low, high

    # -- lineage ---------------------------------------------------------------------------------
    def lineage(self, shard: ShardEntry, row_group: int, ids, rows) -> tuple:
        """(source ids, source rows) of a row group (int64 numpy arrays), after checking every id
        names a source and every row lies within that source's rows."""
        import numpy as np

        known = np.asarray([s.rows_read for s in self.manifest.sources], dtype=np.int64)
        bad = (ids < 0) | (ids >= len(known))
        if not bad.any():
            bad = (rows < 0) | (rows >= known[ids])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ShardProblem(shard, "mismatched", f"row group {row_group} row {i} points at source "
                                                    f"{int(ids[i])} row {int(rows[i])}, which the manifest's "
                                                    f"sources do not hold")
        return ids, rows

    def check_lineage_values(self, shard: ShardEntry, seen=None) -> None:
        """Read the two lineage columns of every row group and check each (source, row) exists: the
        exact form of the footer's statistics check (``datagen verify`` runs it; it decodes 12 bytes
        a row). ``seen``: a :class:`~datagen.contract.lineageseen.LineageSeen` the pairs are added to."""
        import numpy as np
        import pyarrow.parquet as pq

        real = self.locate(shard)
        try:
            with pq.ParquetFile(real) as pf:
                for rg in range(pf.num_row_groups):
                    t = pf.read_row_group(rg, columns=[self.id_column, self.row_column])
                    if t.column(0).null_count or t.column(1).null_count:
                        raise ShardProblem(shard, "mismatched", f"row group {rg} has null lineage values")
                    ids, rows = self.lineage(shard, rg, np.asarray(t.column(0), dtype=np.int64),
                                             np.asarray(t.column(1), dtype=np.int64))
                    if seen is not None:
                        seen.add(shard, ids, rows)
        except ShardProblem:
            raise
        except Exception as exc:
            raise ShardProblem(shard, "unreadable", f"its lineage columns cannot be read ({one_line(exc)})") from None

    # -- sha256 ----------------------------------------------------------------------------------
    def check_hash(self, shard: ShardEntry, real: str) -> None:
        try:
            digest = sha256_file(real)
        except OSError as exc:
            raise ShardProblem(shard, "unreadable", f"{exc.strerror or exc}") from None
        if digest != shard.sha256:
            raise ShardProblem(shard, "changed", f"sha256 {digest[:12]}..., manifest says {shard.sha256[:12]}...")

    def check(self, shard: ShardEntry, level: str = "footer") -> tuple:
        """Run the checks up to ``level`` ("locate", "footer" or "sha256"); returns the checked
        footer (``None`` for "locate") and the file's identity when it was checked."""
        real, identity = self.locate_stat(shard)
        if level == "sha256":
            self.check_hash(shard, real)
        return (self.read_footer(shard, real) if level in ("footer", "sha256") else None), identity


def check_shards(checker: ShardChecker, shards: list[ShardEntry], level: str, threads: int = 4) -> list:
    """Check ``shards`` (in parallel); raise the first problem in manifest order, else return
    (footer, file identity) of each."""
    if len(shards) <= 1 or threads <= 1:
        return [checker.check(shard, level) for shard in shards]
    from concurrent.futures import ThreadPoolExecutor

    size = -(-len(shards) // (threads * 4))  # runs of shards per task: one future per shard costs more than a check
    runs = [shards[i:i + size] for i in range(0, len(shards), size)]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="datagen-check") as pool:
        return [found for run in pool.map(lambda run: [checker.check(s, level) for s in run], runs) for found in run]


class FooterStash:
    """Footers checked at construction, handed once each to the reader so no footer is parsed
    twice; only while the file is the one that was checked (same identity). Not carried into
    pickles (worker processes re-read and re-check), and lock-free (``dict.pop`` is atomic),
    so it is safe across ``fork``."""

    def __init__(self, footers: dict | None = None):
        self._footers = dict(footers or {})  # index -> (footer, identity)

    def take(self, index: int, identity: tuple):
        meta, checked = self._footers.pop(index, (None, None))
        return meta if checked == identity else None

    def __len__(self) -> int:
        return len(self._footers)

    def __getstate__(self) -> dict:
        return {"_footers": {}}


def _short(values: list[int]) -> str:
    return str(values) if len(values) <= 6 else f"[{', '.join(map(str, values[:6]))}, ... ({len(values)} in all)]"


def _schema_difference(got: list[tuple[str, str]], want: list[tuple[str, str]]) -> str:
    have, need = dict(got), dict(want)
    missing = [n for n in need if n not in have]
    if missing:
        return f"column {missing[0]!r} is missing (file columns: {', '.join(list(have)[:12])})"
    extra = [n for n in have if n not in need]
    if extra:
        return f"it has column {extra[0]!r}, which the manifest does not list"
    for name, kind in want:
        if have[name] != kind:
            return f"column {name!r} has type {have[name]}, manifest says {kind}"
    return "its columns are in another order or repeated than the manifest's schema"
