"""The window cache: decoded windows kept per process, and the next one decoded in the background.

A cached window holds its arrays as stored plus, when shuffling, its row order under ``ORDER``
(the gather in assemble.py applies it per batch, so no permuted copy of a window is ever made).

At most ``CACHED_WINDOWS`` decoded windows are kept (least recently used goes first). A window
is decoded once even when several threads ask for it at the same time (the others wait for it),
and after each batch the window after it is decoded by one background thread, so batches
never wait for it. Cached arrays are never handed out: every batch is a new array
(``assemble.gather``), so a caller's in-place edit cannot change later batches. Locks, events and
the thread are rebuilt after a fork or unpickling.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .decode import ALONGSIDE, WindowDecoder
from .forksafe import ProcessLocal
from .phases import lap, start
from .plan import EpochPlan, Window
from .resident import ResidentRows

CACHED_WINDOWS = 2  # the memory budget counts them (budget.py)
ORDER = "order"     # key of a shuffled window's row order (positions in the window, in epoch order)


class WindowCache(ProcessLocal):
    RUNTIME = ("_lock", "_cache", "_loading", "_prefetcher")
    stats = None  # a PhaseStats while timing (phases.py)

    def __init__(self, plan: EpochPlan, decoder: WindowDecoder, resident: ResidentRows | None = None):
        self.plan = plan
        self.decoder = decoder
        self.resident = resident  # every row kept across epochs, when the selection fits (resident.py)
        self._start_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        self._loading: dict = {}
        self._prefetcher = None

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
        if self.resident is not None:
            self.resident.clear()

    def get(self, epoch: int, window: Window) -> dict[str, np.ndarray]:
        """The decoded window (with its row order, see ``ORDER``), decoding it unless cached or being
        decoded."""
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
                value = self._decode(epoch, window)
                with self._lock:
                    self._cache[key] = value
                    while len(self._cache) > CACHED_WINDOWS:
                        self._cache.popitem(last=False)
                return value
            finally:
                with self._lock:
                    self._loading.pop(key, None)
                event.set()

    def _decode(self, epoch: int, window: Window) -> dict[str, np.ndarray]:
        """The window's arrays; when shuffling, its row order is drawn in this thread while the reader
        threads decode the window (the permutation is off the critical path)."""
        capacity = min(self.plan.window_rows, self.plan.total_rows)  # any window of any epoch fits
        if self.resident is not None:  # the resident rows, and the order as their positions
            t = start(self.stats)
            out = self.decoder.pool.take((window.rows,), np.int64, capacity) if self.plan.shuffle else None
            order = self.plan.window_order(epoch, window, out)
            lap(self.stats, "permutation", t)
            arrays, arrays[ORDER] = self.resident.window(window, order)
            return arrays
        if not self.plan.shuffle:
            return self.decoder.decode(window, capacity)

        def order() -> np.ndarray:
            t = start(self.stats)
            out = self.plan.window_order(epoch, window, self.decoder.pool.take((window.rows,), np.int64, capacity))
            lap(self.stats, "permutation", t)
            return out

        value = self.decoder.decode(window, capacity, alongside=order)
        value[ORDER] = value.pop(ALONGSIDE)
        return value

    def prefetch(self, epoch: int, window: Window) -> None:
        """Decode the window after ``window`` in the background, so batches never wait for it.
        If that fails, the foreground request decodes it again and raises the error itself."""
        windows, _ = self.plan.windows(epoch)
        if window.index + 1 < len(windows):
            self.warm(epoch, windows[window.index + 1])

    def warm(self, epoch: int, window: Window) -> None:
        """Decode ``window`` of ``epoch`` in the background unless it is cached or being decoded (the
        next epoch's first window, batches.py ``Follow``)."""
        key = (self.plan.epoch_key(epoch), window.index)
        with self._lock:
            if key in self._cache or key in self._loading:
                return
            if self._prefetcher is None:
                from concurrent.futures import ThreadPoolExecutor

                self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datagen-prefetch")
            prefetcher = self._prefetcher
        prefetcher.submit(self.get, epoch, window)
