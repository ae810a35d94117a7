"""Decoding one window: its row groups -> numpy arrays, rows as stored (the epoch's row order is
applied per batch, by the gather in assemble.py: one pass instead of a permuted copy of the window).

The window's shards are read and converted in parallel (pyarrow releases the GIL), its units keep
the window's order, and the columns become arrays keyed ``"x"`` (the feature matrix) or
``"x:<input>"`` (dict inputs), ``"y"`` (labels) and ``"w"`` (sample weights), by the rules
of ``outputs.py``. Group columns are not in the files: their checked value is repeated.
Text is read dictionary-encoded and becomes object arrays sharing one str per distinct value
(``text_values``), so its memory follows the footer sizes the budget counts.
"""

from __future__ import annotations

import threading

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


class WindowDecoder(ProcessLocal):
    RUNTIME = ("_lock", "_reader_pool")
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

    def _readers(self):
        with self._lock:
            if self._reader_pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._reader_pool = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="datagen-read")
            return self._reader_pool

    def _decode_shard(self, shard: int, units: list[Unit]) -> dict[Unit, dict[str, np.ndarray]]:
        """Read and convert the units of one shard (in a reader thread: pyarrow releases the GIL for
        both, so the row-major conversion of one shard overlaps the reading of the next)."""
        try:
            return self._read_units(shard, units)
        except ShardProblem as exc:  # a damaged cached copy: dropped and downloaded again, once
            if not self.shards.refetch(shard):
                raise
            first = exc.detail
        try:
            return self._read_units(shard, units)
        except ShardProblem as exc:
            if exc.kind != "unreadable":
                raise
            raise ShardError(f"{exc}; the cached copy failed ({first}) and so did a fresh download (sha256 matches "
                             "the manifest: the shard was written damaged; re-run the split with --overwrite)") from None

    def _read_units(self, shard: int, units: list[Unit]) -> dict[Unit, dict[str, np.ndarray]]:
        stats = self.stats
        out = {}
        with self.shards.open(shard) as pf:
            for u in units:
                t = start(stats)
                table = self.shards.read_row_group(pf, shard, u.row_group, self.file_columns, u.rows)
                t = lap(stats, "read", t)
                out[u] = self._convert(u, table)
                lap(stats, "row-major", t)
        return out

    def decode(self, window: Window) -> dict[str, np.ndarray]:
        """Decode a window's row groups into arrays (rows as stored in the window's units): each shard's
        units are read and converted in the reader threads, then joined in the window's order."""
        by_shard: dict[int, list[Unit]] = {}
        for unit in window.units:
            by_shard.setdefault(unit.shard, []).append(unit)
        done: dict[Unit, dict[str, np.ndarray]] = {}
        if len(by_shard) > 1:
            for part in self._readers().map(lambda s: self._decode_shard(s, by_shard[s]), list(by_shard)):
                done.update(part)
        else:
            shard, units = next(iter(by_shard.items()))
            done.update(self._decode_shard(shard, units))
        if len(window.units) == 1:
            return done[window.units[0]]
        t = start(self.stats)
        parts = [done.pop(u) for u in window.units]
        data = {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}
        lap(self.stats, "concat", t)
        return data

    def _convert(self, unit: Unit, table: pa.Table) -> dict[str, np.ndarray]:
        """One unit's file columns (``table``) as the output arrays (keys as in the module doc)."""

        def column(name: str) -> pa.Array | pa.ChunkedArray:
            if name in self.groups:  # a group column: its (checked) value repeated, as its own Arrow type
                return group_array(self.group_values[unit.shard][name], unit.rows, self.types[name])
            return table.column(name)

        def numeric(names: list[str]) -> np.ndarray:
            # Arrow builds the row-major matrix in one pass (about 3x faster than stacking numpy columns)
            return float_matrix([column(n) for n in names], self.options.dtype)

        def text(names: list[str]) -> np.ndarray:
            return np.ascontiguousarray(np.vstack([text_values(column(n)) for n in names]).T)

        o = self.options
        where = f"shard {self.manifest.shards[unit.shard].path!r} row group {unit.row_group}"
        data: dict[str, np.ndarray] = {}
        if isinstance(o.features, dict):
            for name, cols in o.features.items():
                data[f"x:{name}"] = text(cols) if is_text(self.types[cols[0]]) else numeric(cols)
        else:
            data["x"] = numeric(o.features)
        if o.label:
            data["y"] = label_array(column(o.label), self.types[o.label], o.num_classes, o.label, where)
        if o.sample_weight:
            weights = column(o.sample_weight)
            if weights.null_count:
                raise ColumnError(f"sample_weight column {o.sample_weight!r} has {weights.null_count} null values "
                                  f"({where})")
            data["w"] = numeric([o.sample_weight])[:, 0]
        return data
