"""Rows kept across epochs: when the whole selection, decoded, fits in half the memory budget, every
row group is decoded once, into one array per output, and later epochs only draw their row orders.

Without this, each epoch decodes every window again (at 1M rows in 366 shards, about 0.2 s of CPU an
epoch, mostly pyarrow's fixed cost per column chunk). Here a unit (row group) has a fixed place in
the resident arrays (the epoch plan's unit order) and is decoded the first time a window needs it,
by that window's decode (reader threads, as ``decode.py``); a unit being decoded by another thread
is waited for, never decoded twice. A window is then the resident arrays plus its row order mapped
to resident positions: window position ``q`` (row ``r`` of its unit ``u``) is resident row
``place[u] + r``, so ``ORDER[p] = place(perm[p])`` gives every batch the rows, in the order, of a
decoded window: batches are element for element unchanged. A shard is read, and its page
checksums checked, when its rows are first decoded; ``WindowCache.clear()`` drops the rows, so the
next use reads the files again. Memory: the resident rows plus two windows' row orders, at most the
budget (``fits``).
"""

from __future__ import annotations

import threading

import numpy as np

from .decode import WindowDecoder
from .forksafe import ProcessLocal
from .phases import lap, start
from .plan import EpochPlan, Unit, Window

RESIDENT_SHARE = 2  # the decoded selection may take at most 1/RESIDENT_SHARE of memory_budget


def fits(total_rows: int, row_bytes: int, memory_budget: int) -> bool:
    """Whether every selected row, decoded (its row order included), fits in its share of the budget."""
    return total_rows * row_bytes * RESIDENT_SHARE <= memory_budget


class ResidentRows(ProcessLocal):
    RUNTIME = ("_lock", "_arrays", "_done", "_loading")
    stats = None  # a PhaseStats while timing (phases.py)

    def __init__(self, plan: EpochPlan, decoder: WindowDecoder):
        self.decoder = decoder
        self.total_rows = plan.total_rows
        self.place: dict[Unit, int] = {}
        at = 0
        for unit in plan.units:
            self.place[unit] = at
            at += unit.rows
        self._start_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._arrays: dict[str, np.ndarray] = {}
        self._done: set[Unit] = set()
        self._loading: dict[Unit, threading.Event] = {}

    def clear(self) -> None:
        with self._lock:
            self._arrays = {}
            self._done = set()

    def window(self, window: Window, order: np.ndarray | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The resident arrays (``window``'s units decoded if they were not yet) and the window's row
        order (``order``: positions in the window, None = as stored) as resident row positions."""
        arrays = dict(self._ensure(window.units))  # the caller adds the window's ORDER to its own dict
        t = start(self.stats)
        deltas = np.fromiter((self.place[u] for u in window.units), np.int64, len(window.units))
        starts = np.cumsum([0] + [u.rows for u in window.units[:-1]], dtype=np.int64)
        positions = np.arange(window.rows, dtype=np.int64)
        positions += np.repeat(deltas - starts, [u.rows for u in window.units])
        if order is not None:
            np.take(positions, order, out=order, mode="clip")  # in place: out[i] depends on order[i] only
            positions = order
        lap(self.stats, "positions", t)
        return arrays, positions

    def _ensure(self, units: tuple[Unit, ...]) -> dict[str, np.ndarray]:
        while True:
            with self._lock:
                missing = [u for u in units if u not in self._done]
                if not missing:
                    return self._arrays
                mine = [u for u in missing if u not in self._loading]
                theirs = {self._loading[u] for u in missing if u in self._loading}
                event = threading.Event()
                for u in mine:
                    self._loading[u] = event
                arrays = self._allocate()
            try:
                if mine:
                    parts = self.decoder.decode_into(mine, arrays, self.place)
                    self._store(arrays, parts)
                    with self._lock:
                        if self._arrays is arrays:  # not cleared meanwhile
                            self._done.update(mine)
            finally:
                with self._lock:
                    for u in mine:
                        self._loading.pop(u, None)
                event.set()
            if mine and not theirs:   # every unit asked for is in ``arrays``, even if a clear() came meanwhile:
                return arrays          # serve them (decoding again after every clear could starve)
            for other in theirs:
                other.wait()  # decoded by another thread (or failed there: then tried here again)

    def _allocate(self) -> dict[str, np.ndarray]:
        """The resident float matrices (under the lock; other outputs are made by ``_store``)."""
        if not self._arrays:
            dtype = self.decoder.options.dtype
            self._arrays = {k: np.empty((self.total_rows, n), dtype=dtype)
                            for k, n in self.decoder._matrix_keys().items()}
        return self._arrays

    def _store(self, arrays: dict[str, np.ndarray], parts: dict[Unit, dict[str, np.ndarray]]) -> None:
        """Each unit's other outputs (labels, weights, text) into their resident rows (the float
        matrices were written in place)."""
        matrices = self.decoder._matrix_keys()
        for unit, part in parts.items():
            at = self.place[unit]
            for key, values in part.items():
                if key in matrices:
                    continue
                with self._lock:
                    if key not in arrays:
                        arrays[key] = np.empty((self.total_rows,) + values.shape[1:], dtype=values.dtype)
                arrays[key][at:at + unit.rows] = values
