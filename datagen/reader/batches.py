"""``BatchSource``: the Keras-free core of the generator.

It validates the options against the manifest, prunes shards with ``where``
(pruned shards are never opened), checks the selected shards, plans epochs,
decodes windows of row groups into numpy arrays under a memory budget, and
assembles batches and their provenance. ``DataGenerator`` wraps it for Keras.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import forksafe
from datagen.contract.errors import (ColumnError, ConfigError, DatagenError, FilterError, ManifestError, ShardError, TransformError,
                                     with_context)
from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN
from datagen.contract.manifest import manifest_path, read_manifest_with_hash
from .options import GeneratorOptions
from .outputs import float_matrix, group_array, label_array, is_text, label_dtype, lineage_int64, one_hot
from .plan import EpochPlan, Unit, Window, check_epoch
from .option_checks import check_columns, check_labels, checked_group_values, warn_inexact
from datagen.contract.shardcheck import FooterStash, ShardChecker, ShardProblem, check_shards, one_line
from .where import compile_where
# Memory: two decoded windows are cached while the next one is built in the background, and
# building one briefly holds its read buffers, the Arrow table, the matrix and its permuted copy
# (about five times its size); so a window is at most an eighth of the budget.
CACHED_WINDOWS = 2
WINDOW_SHARE = 8
FOOTER_CACHE = 4096  # Parquet footers kept per generator, so later epochs skip re-parsing them
READ_THREADS = min(4, os.cpu_count() or 1)  # shards read in parallel while a window is built


def _read_row_group(pf: pq.ParquetFile, shard, row_group: int, columns: list[str]) -> pa.Table:
    """One row group of an open shard; a file changed under us becomes a ShardError naming it."""
    try:
        return pf.read_row_group(row_group, columns=columns, use_threads=False)
    except (OSError, pa.ArrowException) as exc:
        raise ShardProblem(shard, "unreadable", f"row group {row_group}: {one_line(exc)}") from None


PROVENANCE_FIELDS = ("shard", "shard_row", "source_id", "source", "source_row")


def provenance_name(group_column: str) -> str:
    """A group column's name in provenance tables: ``group.<name>`` when it would hide a lineage field."""
    return f"group.{group_column}" if group_column in PROVENANCE_FIELDS or group_column.startswith("group.") \
        else group_column


class BatchSource:
    def __init__(self, options: GeneratorOptions, transform: Callable | None = None):
        self.options = options
        self.transform = transform
        if transform is not None and not callable(transform):
            raise ConfigError(f"transform: expected a callable, got {type(transform).__name__}")
        self.directory = Path(options.directory)
        self.manifest, self.manifest_sha256 = read_manifest_with_hash(self.directory)  # one read: parsed + hashed
        if options.manifest_sha256 and options.manifest_sha256 != self.manifest_sha256:
            raise ManifestError(f"{str(manifest_path(self.directory))!r} changed since this generator config was "
                                "made (manifest_sha256 differs); the batches would not be the same")
        self._types = {**self.manifest.column_types, **self.manifest.group_types}
        self._groups = set(self.manifest.group_names)
        check_columns(self._types, options)
        predicate = compile_where(options.where, self.manifest.group_names, [s.group for s in self.manifest.shards],
                                  self.manifest.group_types)
        self.selected = [i for i, s in enumerate(self.manifest.shards) if predicate(s.group)]
        if not self.manifest.shards:
            raise ManifestError(f"dataset {str(self.directory)!r} has no shards: there are no rows to train on")
        if not self.selected:
            example = self.manifest.shards[0].group if self.manifest.shards else {}
            raise FilterError(f"where {options.where!r} matches none of the {len(self.manifest.shards)} shards "
                              f"(group values look like {example})")
        self._check_shards()
        self._group_values = checked_group_values(self.manifest, self.selected, self._types, options)
        check_labels(self.manifest, self.selected, self._group_values, options)
        warn_inexact(self._types, self._groups, self._group_values, options)
        units = []
        for i in self.selected:
            start = 0
            for rg, rows in enumerate(self.manifest.shards[i].row_groups):
                if rows > 0:  # an empty row group adds nothing to any batch
                    units.append(Unit(i, rg, start, rows))
                start += rows
        if not units:
            raise FilterError(f"the {len(self.selected)} shards selected (where {options.where!r}) hold no rows")
        self.row_bytes = self._row_bytes()
        window_rows = options.memory_budget // (WINDOW_SHARE * self.row_bytes)
        biggest = max(u.rows for u in units)
        if biggest > window_rows:
            need = biggest * WINDOW_SHARE * self.row_bytes
            raise ConfigError(f"memory_budget {options.memory_budget:,} bytes is too small: a row group of "
                              f"{biggest:,} rows needs about {need:,} bytes; raise it to at least {need:,}")
        if options.shuffle and window_rows < 2 * biggest:
            warnings.warn(f"memory_budget {options.memory_budget:,} bytes allows only one row group per shuffle window: "
                          "rows will be shuffled within row groups but not mixed across shards; raise memory_budget",
                          UserWarning, stacklevel=3)
        if options.num_classes is not None and options.batch_size * options.num_classes * 4 > options.memory_budget:
            raise ConfigError(f"num_classes={options.num_classes:,} with batch_size={options.batch_size:,}: one-hot "
                              f"labels take {options.batch_size * options.num_classes * 4:,} bytes a batch, more than "
                              f"memory_budget {options.memory_budget:,}")
        self.plan = EpochPlan(units, options.batch_size, options.drop_remainder, options.shuffle, options.seed,
                              window_rows)
        self._init_runtime()

    # -- pickling (worker processes) ------------------------------------------------------------
    def _init_runtime(self) -> None:
        """Locks, caches and thread pools: per process (reset after fork, rebuilt after unpickling)."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        self._loading: dict = {}
        self._footers: OrderedDict = OrderedDict()
        self._prefetcher = None
        self._reader_pool = None
        forksafe.register(self)

    def _after_fork(self) -> None:
        # the parent's pools have no threads here and its locks/events may be held forever: start afresh
        self._init_runtime()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in ("_pid", "_lock", "_cache", "_loading", "_footers", "_prefetcher", "_reader_pool"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    # -- shard checks ----------------------------------------------------------------------------
    def _check_shards(self) -> None:
        """Every selected shard lies inside DIR (real paths) and has the manifest's size, footer (and sha256)."""
        self._checker = ShardChecker(self.directory, self.manifest)
        level = "sha256" if self.options.verify == "sha256" else "footer"
        footers = check_shards(self._checker, [self.manifest.shards[i] for i in self.selected], level, READ_THREADS)
        self._stash = FooterStash(dict(list(zip(self.selected, footers))[:FOOTER_CACHE]))  # read once, used on open

    def _shard_path(self, index: int, check: bool = True) -> Path:
        """The shard's real path, checked to lie inside DIR and to have the manifest's size."""
        return Path(self._checker.locate(self.manifest.shards[index]))

    def _row_bytes(self) -> int:
        o = self.options
        width = 8 if o.dtype == "float64" else 4
        total = sum(48 if is_text(self._types[c]) else width for c in o.feature_columns)
        total += width if o.sample_weight else 0
        if o.label:
            total += 8 if o.num_classes is not None else label_dtype(self._types[o.label]).byte_width
        return max(total, 4) + 8  # + the window's row order

    # -- public surface --------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.plan.num_batches

    @property
    def num_rows(self) -> int:
        return self.plan.total_rows

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.options.to_config()
        cfg["directory"] = str(Path(self.options.directory).resolve())
        cfg["manifest_sha256"] = self.manifest_sha256
        return cfg

    def batch(self, index: int, epoch: int = 0):
        """The batch ``index`` of ``epoch``: a pure function of manifest, options, seed, epoch and index."""
        if self._pid != os.getpid():  # forked by something that bypassed os.register_at_fork
            self._init_runtime()
        segments = self.plan.segments(check_epoch(epoch), index)
        try:
            parts = []
            for window, lo, hi in segments:
                data = self._window(epoch, window)  # already in epoch order: a batch is a slice
                # cached windows are shared: hand out copies when a transform might modify them in place
                parts.append({k: (v[lo:hi].copy() if self.transform is not None else v[lo:hi])
                              for k, v in data.items()})
            self._prefetch(epoch, window)
        except DatagenError as exc:
            raise with_context(exc, f"batch {index} of epoch {epoch}") from None
        cols = parts[0] if len(parts) == 1 else {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        out = self._assemble(cols)
        if self.transform is None:
            return out
        try:
            result = self.transform(out)
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise TransformError(f"transform raised {type(exc).__name__}: {first} (batch {index} of epoch "
                                 f"{epoch})") from exc
        if result is None:
            raise TransformError(f"transform returned None for batch {index} of epoch {epoch}; expected the batch "
                                 "(a tuple (x,), (x, y) or (x, y, sample_weight))")
        return result

    # -- decoding --------------------------------------------------------------------------------
    def _readers(self):
        with self._lock:
            if self._reader_pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._reader_pool = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="datagen-read")
            return self._reader_pool

    def _prefetch(self, epoch: int, window: Window) -> None:
        """Decode the window after ``window`` in the background, so batches never wait for it.
        If that fails, the foreground request decodes it again and raises the error itself."""
        windows, _ = self.plan.windows(epoch)
        if window.index + 1 >= len(windows):
            return
        key = (self.plan.epoch_key(epoch), window.index + 1)
        with self._lock:
            if key in self._cache or key in self._loading:
                return
            if self._prefetcher is None:
                from concurrent.futures import ThreadPoolExecutor

                self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datagen-prefetch")
            prefetcher = self._prefetcher
        prefetcher.submit(self._window, epoch, windows[window.index + 1])

    def _window(self, epoch: int, window: Window):
        key = (self.plan.epoch_key(epoch), window.index)
        while True:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
                event = self._loading.get(key)
                owner = event is None
                if owner:
                    event = self._loading[key] = threading.Event()
            if not owner:
                event.wait()
                continue  # the owner has cached it (or failed, and we try ourselves)
            try:
                value = self._decode(window, self.plan.window_order(epoch, window))
                with self._lock:
                    self._cache[key] = value
                    while len(self._cache) > CACHED_WINDOWS:
                        self._cache.popitem(last=False)
                return value
            finally:
                with self._lock:
                    self._loading.pop(key, None)
                event.set()

    def _file_columns(self) -> list[str]:
        o = self.options
        wanted = o.feature_columns + [c for c in (o.label, o.sample_weight) if c]
        return list(dict.fromkeys(c for c in wanted if c not in self._groups))

    def _open(self, index: int) -> pq.ParquetFile:
        """Open a shard (checking its real path and size), reusing its parsed footer while the file
        is the one it came from; a footer parsed here is checked against the manifest first."""
        shard = self.manifest.shards[index]
        path, identity = self._checker.locate_stat(shard)
        with self._lock:
            meta, seen = self._footers.get(index, (None, None))
        cached = meta is not None and seen == identity
        if not cached:
            meta = self._stash.take(index, identity)  # read and checked at construction
        try:
            pf = pq.ParquetFile(path, metadata=meta, pre_buffer=True)
        except Exception as exc:
            raise ShardProblem(shard, "unreadable", f"not a readable Parquet file ({one_line(exc)})") from None
        if meta is None:
            self._checker.check_footer(shard, pf.metadata)
        if not cached:
            with self._lock:
                self._footers[index] = (pf.metadata, identity)
                while len(self._footers) > FOOTER_CACHE:
                    self._footers.popitem(last=False)
        return pf

    def _decode(self, window: Window, order: np.ndarray | None) -> dict[str, np.ndarray]:
        """Decode a window's row groups into arrays, rows already in the epoch's order."""
        columns = self._file_columns()
        by_shard: dict[int, list[Unit]] = {}
        for unit in window.units:
            by_shard.setdefault(unit.shard, []).append(unit)

        def read_shard(shard: int) -> dict[Unit, pa.Table]:
            with self._open(shard) as pf:
                out = {}
                for unit in by_shard[shard]:
                    t = _read_row_group(pf, self.manifest.shards[shard], unit.row_group, columns)
                    if t.num_rows != unit.rows:
                        raise ShardError(f"shard {self.manifest.shards[shard].path!r} row group {unit.row_group} "
                                         f"has {t.num_rows} rows, manifest says {unit.rows}")
                    out[unit] = t
                return out

        # shards decode in parallel (pyarrow releases the GIL); units keep the window's order
        read: dict[Unit, pa.Table] = {}
        if len(by_shard) > 1:
            for part in self._readers().map(read_shard, list(by_shard)):
                read.update(part)
        else:
            read.update(read_shard(next(iter(by_shard))))
        table = pa.concat_tables([read[u] for u in window.units]) if len(window.units) > 1 else read[window.units[0]]
        del read

        def column(name: str) -> pa.ChunkedArray:
            if name in self._groups:  # a group column: its (checked) value repeated, as its own Arrow type
                return pa.chunked_array([group_array(self._group_values[u.shard][name], u.rows, self._types[name])
                                         for u in window.units])
            return table.column(name)

        def numeric(names: list[str]) -> np.ndarray:
            # Arrow builds the row-major matrix in one pass (about 3x faster than stacking numpy columns)
            return float_matrix([column(n) for n in names], self.options.dtype)

        def text(names: list[str]) -> np.ndarray:
            return np.ascontiguousarray(np.vstack([column(n).to_numpy() for n in names]).T)

        o = self.options
        where = f"window starting at shard {self.manifest.shards[window.units[0].shard].path!r}"
        data: dict[str, np.ndarray] = {}
        if isinstance(o.features, dict):
            for name, cols in o.features.items():
                data[f"x:{name}"] = text(cols) if is_text(self._types[cols[0]]) else numeric(cols)
        else:
            data["x"] = numeric(o.features)
        if o.label:
            data["y"] = label_array(column(o.label), self._types[o.label], o.num_classes, o.label, where)
        if o.sample_weight:
            weights = column(o.sample_weight)
            if weights.null_count:
                raise ColumnError(f"sample_weight column {o.sample_weight!r} has {weights.null_count} null values "
                                  f"({where})")
            data["w"] = numeric([o.sample_weight])[:, 0]
        if order is not None:  # one bulk gather (np.take is much faster than fancy indexing)
            data = {k: np.take(v, order, axis=0) for k, v in data.items()}
        return data

    def _assemble(self, cols: dict[str, np.ndarray]):
        o = self.options
        if isinstance(o.features, dict):
            x = {name: cols[f"x:{name}"] for name in o.features}
        else:
            x = cols["x"]
        if not o.label:
            return (x,)
        y = cols["y"]
        if o.num_classes is not None:
            y = one_hot(y, o.num_classes)
        return (x, y, cols["w"]) if o.sample_weight else (x, y)

    # -- provenance -------------------------------------------------------------------------------
    def provenance(self, index: int, epoch: int = 0) -> pd.DataFrame:
        """One row per example of batch ``index`` of ``epoch``, in batch order."""
        m = self.manifest
        check_epoch(epoch)
        sources = m.source_by_id()
        frames = []
        for window, lo, hi in self.plan.segments(epoch, index):
            order = self.plan.window_order(epoch, window)
            positions = order[lo:hi] if order is not None else np.arange(lo, hi)
            starts = np.cumsum([0] + [u.rows for u in window.units])
            which = np.searchsorted(starts, positions, side="right") - 1
            within = positions - starts[which]
            lineage: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            for k in np.unique(which).tolist():
                unit = window.units[k]
                with self._open(unit.shard) as pf:
                    t = _read_row_group(pf, m.shards[unit.shard], unit.row_group,
                                        [SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN])
                where = f"shard {m.shards[unit.shard].path!r}"
                lineage[k] = self._checker.lineage(m.shards[unit.shard], unit.row_group,
                                                   lineage_int64(t.column(0), SOURCE_ID_COLUMN, where),
                                                   lineage_int64(t.column(1), SOURCE_ROW_COLUMN, where))
            rows = []
            for k, r in zip(which.tolist(), within.tolist()):
                unit = window.units[k]
                shard = m.shards[unit.shard]
                sid = int(lineage[k][0][r])
                rows.append({"shard": shard.path, "shard_row": unit.start + r, "source_id": sid,
                             "source": sources[sid].path, "source_row": int(lineage[k][1][r]),
                             **{provenance_name(g): v for g, v in shard.group.items()}})
            frames.append(pd.DataFrame(rows))
        table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        table.index.name = "example"
        return table
