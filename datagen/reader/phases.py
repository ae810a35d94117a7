"""Per-phase timers of the generator, for benchmarks and profiling: an internal stats hook.

Off by default: every timed spot calls ``lap(stats, ...)`` with ``stats`` None, which returns at
once (no clock is read). ``BatchSource.phase_stats()`` turns it on for one generator and returns the
``PhaseStats`` that then sums, per phase, the wall seconds spent (``seconds``), the CPU seconds of the
thread that spent them (``cpu``: on a loaded machine wall seconds include time waiting for a core,
CPU seconds do not) and the number of times, over all threads (window decoding runs in the reader
and background threads, batches in the caller's). Phases:

* ``read``: Parquet pages -> Arrow (pyarrow's decode of the window's row groups);
* ``row-major``: Arrow columns -> the window's row-major matrix and label/weight arrays;
* ``concat``: joining the converted row groups of a window (labels, weights, text: the float
  matrices are written in place and join nothing);
* ``permutation``: drawing the window's row order;
* ``positions``: a window's row order made positions in the rows kept across epochs (resident.py);
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
        self.cpu: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, phase: str, seconds: float, cpu: float = 0.0) -> None:
        with self._lock:
            self.seconds[phase] += seconds
            self.cpu[phase] += cpu
            self.counts[phase] += 1

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.cpu.clear()
            self.counts.clear()

    def as_dict(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {k: {"seconds": self.seconds[k], "cpu": self.cpu[k], "count": self.counts[k]}
                    for k in self.seconds}

    def __getstate__(self):  # a worker process starts with its own (empty) stats
        return {}

    def __setstate__(self, state):
        self.__init__()


Clock = tuple[float, float]  # (wall, this thread's CPU) seconds
OFF: Clock = (0.0, 0.0)


def start(stats: PhaseStats | None) -> Clock:
    """The clocks, if timing is on (``OFF`` otherwise: no clock is read)."""
    return (time.perf_counter(), time.thread_time()) if stats is not None else OFF


def lap(stats: PhaseStats | None, phase: str, since: Clock) -> Clock:
    """Add the wall and CPU time since ``since`` to ``phase``; return the clocks (``OFF`` when off)."""
    if stats is None:
        return OFF
    now = (time.perf_counter(), time.thread_time())
    stats.add(phase, now[0] - since[0], now[1] - since[1])
    return now
