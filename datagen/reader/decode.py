"""Decoding one window: its row groups -> numpy arrays, rows as stored (the epoch's row order is
applied per batch, by the gather in assemble.py: one pass instead of a permuted copy of the window).
The float matrices are allocated once per window (reused buffers, bufferpool.py) and each row group
writes its rows into them in place: no separate join of the row groups' matrices.

The window's shards are read and converted in parallel (pyarrow releases the GIL), its units keep
the window's order, and the columns become arrays keyed ``"x"`` (the feature matrix) or
``"x:<input>"`` (dict inputs), ``"y"`` (labels) and ``"w"`` (sample weights), by the rules
of ``outputs.py``. Group columns are not in the files: their checked value is repeated.
Text is read dictionary-encoded and becomes object arrays sharing one str per distinct value
(``text_values``), so its memory follows the footer sizes the budget counts.
"""

from __future__ import annotations

import threading
from concurrent.futures import wait
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from datagen.contract.errors import ColumnError, ShardError
from datagen.contract.shardcheck import ShardProblem
from datagen.contract.format import Manifest
from .forksafe import ProcessLocal
from .options import GeneratorOptions
from datagen.contract.format import is_text
from .outputs import float_matrix, group_array, label_array
from .phases import lap, start
from .plan import Unit, Window
from .shards import READ_THREADS, ShardAccess
from .bufferpool import BufferPool

# windows whose buffers are kept for reuse (bufferpool.py): windows.CACHED_WINDOWS cached ones,
# the one being built, and one evicted while a caller still gathers from it
POOLED_WINDOWS = 4
ALONGSIDE = "alongside"  # key of what ``decode(alongside=...)`` computed while the reader threads decoded
Dest = tuple  # (window matrices by key, each unit's first row in the window)
TASK_ROWS = 1 << 15  # rows of the shards one reader task decodes (reader_tasks)


def text_values(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A text column as a numpy object array of str (None for nulls). Dictionary-encoded chunks (as
    shards.py reads text) share one Python str per distinct value, so memory follows the file's size."""
    parts = []
    for chunk in (col.chunks if isinstance(col, pa.ChunkedArray) else [col]):
        if not pa.types.is_dictionary(chunk.type):
            parts.append(chunk.to_numpy(zero_copy_only=False))
            continue
        values = np.empty(len(chunk.dictionary) + 1, dtype=object)  # the last slot: None, for nulls
        values[:-1] = chunk.dictionary.to_numpy(zero_copy_only=False)
        idx = chunk.indices.fill_null(len(chunk.dictionary)).to_numpy(zero_copy_only=False)
        parts.append(values[idx])
    if not parts:
        return np.empty(0, dtype=object)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def reader_tasks(shards: list[tuple[int, int]], task_rows: int = TASK_ROWS) -> list[list[int]]:
    """The window's shards ``(shard, rows)`` in consecutive runs of about ``task_rows`` rows, one reader
    task each: a small shard costs a thread hand-off much like a big one, so small shards go together
    (366 shards of 2.7k rows: 16 tasks an epoch instead of 366). Which task reads a shard changes no
    value: every unit writes its own rows of the window."""
    tasks: list[list[int]] = []
    rows = task_rows
    for shard, n in shards:
        if rows >= task_rows:
            tasks.append([])
            rows = 0
        tasks[-1].append(shard)
        rows += n
    return tasks


class WindowDecoder(ProcessLocal):
    RUNTIME = ("_lock", "_reader_pool", "pool")
    stats = None  # a PhaseStats while timing (phases.py)

    def __init__(self, options: GeneratorOptions, manifest: Manifest, types: dict[str, str],
                 group_values: dict[int, dict], shards: ShardAccess):
        self.options = options
        self.manifest = manifest
        self.types = types                # column -> manifest type, group columns included
        self.groups = set(manifest.group_names)
        self.group_values = group_values  # shard index -> its checked group values
        self.shards = shards
        wanted = options.feature_columns + [c for c in (options.label, options.sample_weight) if c]
        self.file_columns = list(dict.fromkeys(c for c in wanted if c not in self.groups))
        self._start_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._reader_pool = None
        self.pool = BufferPool(POOLED_WINDOWS * (len(self._matrix_keys()) + 1))  # matrices and row order

    def _readers(self):
        with self._lock:
            if self._reader_pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._reader_pool = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="datagen-read")
            return self._reader_pool

    def _decode_shards(self, shards: list[int], by_shard: dict[int, list[Unit]], dest: Dest) -> dict:
        """The units of several shards, one after the other (one reader task: see ``reader_tasks``)."""
        out: dict[Unit, dict[str, np.ndarray]] = {}
        for shard in shards:
            out.update(self._decode_shard(shard, by_shard[shard], dest))
        return out

    def _decode_shard(self, shard: int, units: list[Unit], dest: Dest) -> dict[Unit, dict[str, np.ndarray]]:
        """Read and convert the units of one shard (in a reader thread: pyarrow releases the GIL for
        both, so the row-major conversion of one shard overlaps the reading of the next)."""
        try:
            return self._read_units(shard, units, dest)
        except ShardProblem as exc:  # a damaged cached copy: dropped and downloaded again, once
            if not self.shards.refetch(shard):
                raise
            first = exc.detail
        try:
            return self._read_units(shard, units, dest)
        except ShardProblem as exc:
            if exc.kind != "unreadable":
                raise
            raise ShardError(f"{exc}; the cached copy failed ({first}) and so did a fresh download (sha256 matches "
                             "the manifest: the shard was written damaged; re-run the split with --overwrite)") from None

    def _read_units(self, shard: int, units: list[Unit], dest: Dest) -> dict[Unit, dict[str, np.ndarray]]:
        stats = self.stats
        out = {}
        arrays, offsets = dest
        with self.shards.open(shard) as pf:
            for u in units:
                t = start(stats)
                table = self.shards.read_row_group(pf, shard, u.row_group, self.file_columns, u.rows)
                t = lap(stats, "read", t)
                at = offsets[u]
                out[u] = self._convert(u, table, {k: a[at:at + u.rows] for k, a in arrays.items()})
                lap(stats, "row-major", t)
        return out

    def _matrix_keys(self) -> dict[str, int]:
        """The float matrices of a window (key -> columns), written in place by every unit."""
        o = self.options
        if not isinstance(o.features, dict):
            return {"x": len(o.features)}
        return {f"x:{name}": len(cols) for name, cols in o.features.items() if not is_text(self.types[cols[0]])}

    def decode(self, window: Window, capacity_rows: int = 0, alongside: Callable[[], Any] | None = None
               ) -> dict[str, np.ndarray]:
        """Decode a window's row groups into arrays (rows as stored in the window's units): each shard's
        units are read and converted in the reader threads, the float matrices straight into the window's
        rows (buffers from ``pool``, bufferpool.py), the other outputs then joined in the window's order.
        ``alongside()`` (the window's row order, windows.py) runs in this thread while the reader threads
        decode, instead of before them; its result is returned under ``ALONGSIDE``."""
        offsets: dict[Unit, int] = {}
        at = 0
        for unit in window.units:
            offsets[unit] = at
            at += unit.rows
        # the float matrices are allocated once and filled in place (each unit its own rows): no join
        arrays = {k: self.pool.take((window.rows, n), self.options.dtype, capacity_rows)
                  for k, n in self._matrix_keys().items()}
        beside: dict[str, Any] = {}
        done = self.decode_into(window.units, arrays, offsets, alongside, beside)
        if len(window.units) == 1:
            return {**done[window.units[0]], **arrays, **beside}
        t = start(self.stats)
        parts = [done.pop(u) for u in window.units]
        data = {k: arrays[k] if k in arrays else np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}
        lap(self.stats, "concat", t)
        return {**data, **beside}

    def decode_into(self, units, arrays: dict[str, np.ndarray], offsets: dict[Unit, int],
                    alongside: Callable[[], Any] | None = None, beside: dict | None = None) -> dict:
        """Read and convert ``units`` in the reader threads, each unit's float matrix rows written into
        ``arrays`` from its row ``offsets[unit]``; returns each unit's other outputs (labels, weights, text).
        ``alongside()`` runs in this thread meanwhile, its result put in ``beside[ALONGSIDE]``; on an error,
        this returns only once no reader writes into ``arrays`` any more."""
        by_shard: dict[int, list[Unit]] = {}
        for unit in units:
            by_shard.setdefault(unit.shard, []).append(unit)
        dest = (arrays, offsets)
        done: dict[Unit, dict[str, np.ndarray]] = {}
        tasks = reader_tasks([(shard, sum(u.rows for u in units)) for shard, units in by_shard.items()], TASK_ROWS)
        if len(tasks) > 1 or alongside is not None:   # alongside: overlapped even with one task
            readers = self._readers()
            futures = [readers.submit(self._decode_shards, shards, by_shard, dest) for shards in tasks]
            try:
                if alongside is not None:
                    beside[ALONGSIDE] = alongside()
                for future in futures:
                    done.update(future.result())
            finally:  # on an error, the window's buffers are not handed back while a reader still writes them
                wait(futures)
        else:
            done.update(self._decode_shards(tasks[0], by_shard, dest))
        return done

    def _convert(self, unit: Unit, table: pa.Table, into: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One unit's file columns (``table``) as the output arrays (keys as in the module doc); the
        float matrices are written into ``into`` (the unit's rows of the window's matrices)."""

        def column(name: str) -> pa.Array | pa.ChunkedArray:
            if name in self.groups:  # a group column: its (checked) value repeated, as its own Arrow type
                return group_array(self.group_values[unit.shard][name], unit.rows, self.types[name])
            return table.column(name)

        def numeric(names: list[str], key: str | None = None) -> np.ndarray:
            return float_matrix([column(n) for n in names], self.options.dtype, into.get(key))

        def text(names: list[str]) -> np.ndarray:
            return np.ascontiguousarray(np.vstack([text_values(column(n)) for n in names]).T)

        o = self.options
        where = f"shard {self.manifest.shards[unit.shard].path!r} row group {unit.row_group}"
        data: dict[str, np.ndarray] = {}
        if isinstance(o.features, dict):
            for name, cols in o.features.items():
                key = f"x:{name}"
                data[key] = text(cols) if is_text(self.types[cols[0]]) else numeric(cols, key)
        else:
            data["x"] = numeric(o.features, "x")
        if o.label:
            data["y"] = label_array(column(o.label), self.types[o.label], o.num_classes, o.label, where)
        if o.sample_weight:
            weights = column(o.sample_weight)
            if weights.null_count:
                raise ColumnError(f"sample_weight column {o.sample_weight!r} has {weights.null_count} null values "
                                  f"({where})")
            data["w"] = numeric([o.sample_weight])[:, 0]
        return data
