"""Row-conservation marks shared by the reduce tasks of a local split.

Each reduce task marks the source rows it wrote in a bitmap per source and returns it packed
(reduce.py); on a cluster that is how the marks travel. But each task's bitmap spans every row of
every source it touched, and the driver holds all of them until the check: at 100M rows (100 tasks
x 20 sources x 5M rows) that was 1.25 GB of packed bitmaps, most of the split's peak memory. On the
local scheduler every task shares this process, so they mark one bitmap per source instead
(``mark[rows] = True`` from two threads at once sets the same bits either way), registered under
the run's shard directory while the reduce step runs (``shared_marks``); the driver hands it to
the conservation check as one more reduce result. Each task still reports how many rows it wrote:
a row written twice, by one task or by two, makes the counts exceed the distinct rows marked."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

_MARKS: dict[str, "SharedMarks"] = {}   # shard directory -> its marks (this process)


class SharedMarks:
    def __init__(self):
        self.marks: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def bitmap(self, source_id: int, rows: int) -> np.ndarray:
        """The shared mark array of ``source_id`` (``rows`` rows), made on first use."""
        mark = self.marks.get(source_id)
        if mark is None:
            with self._lock:
                mark = self.marks.get(source_id)
                if mark is None:
                    mark = self.marks[source_id] = np.zeros(rows, dtype=bool)
        return mark

    def packed(self) -> dict[int, np.ndarray]:
        return {k: np.packbits(v) for k, v in self.marks.items()}


def marks_for(shard_root: str) -> SharedMarks | None:
    return _MARKS.get(shard_root)


@contextmanager
def shared_marks(shard_root: str, enabled: bool = True):
    """Register shared marks for the reduce tasks writing under ``shard_root`` (none when not
    ``enabled``), dropped on leaving."""
    if not enabled:
        yield None
        return
    marks = _MARKS[shard_root] = SharedMarks()
    try:
        yield marks
    finally:
        _MARKS.pop(shard_root, None)
