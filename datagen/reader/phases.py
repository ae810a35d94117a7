"""Per-phase timers of the generator, for benchmarks and profiling: an internal stats hook.

Off by default: every timed spot calls ``lap(stats, ...)`` with ``stats`` None, which returns at
once (no clock is read). ``BatchSource.phase_stats()`` turns it on for one generator and returns the
``PhaseStats`` that then sums, per phase, the seconds spent and the number of times, over all threads
(window decoding runs in the background thread, batches in the caller's). Phases:

* ``read``: Parquet pages -> Arrow (pyarrow's decode of the window's row groups);
* ``row-major``: Arrow columns -> the window's row-major matrix and label/weight arrays;
* ``permutation``: drawing the window's row order;
* ``gather``: a batch's rows taken from the window(s) in epoch order (the batch's own copy);
* ``assemble``: the Keras tuple (one-hot labels) and the user's transform;
* ``wait``: the caller waiting for a window (decoded in the foreground or by the prefetch thread);
* ``batch``: the whole ``batch()`` call (or ``batch_run()``, for ``as_tf_dataset``), as the caller sees it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict


class PhaseStats:
    def __init__(self):
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, phase: str, seconds: float) -> None:
        with self._lock:
            self.seconds[phase] += seconds
            self.counts[phase] += 1

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.counts.clear()

    def as_dict(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {k: {"seconds": self.seconds[k], "count": self.counts[k]} for k in self.seconds}

    def __getstate__(self):  # a worker process starts with its own (empty) stats
        return {}

    def __setstate__(self, state):
        self.__init__()


def start(stats: PhaseStats | None) -> float:
    """The clock, if timing is on (0.0 otherwise: no clock read)."""
    return time.perf_counter() if stats is not None else 0.0


def lap(stats: PhaseStats | None, phase: str, since: float) -> float:
    """Add the time since ``since`` to ``phase``; return the clock (0.0 when timing is off)."""
    if stats is None:
        return 0.0
    now = time.perf_counter()
    stats.add(phase, now - since)
    return now
