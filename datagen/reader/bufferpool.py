"""Reused window buffers: a decoded window's float matrices (and its row order) are written into
memory that an earlier, evicted window used, instead of fresh memory every window.

Fresh memory costs the kernel a page fault and a zeroed page per 4 KiB on first write; over an
epoch that is the whole table's decoded size again (about 10% of a shuffled pass's CPU). A buffer
is handed out again only when nothing but the pool refers to it: every window array is a view of
its buffer, and a view holds a reference to the buffer it was cut from, so ``sys.getrefcount``
counts every window, cache entry or caller still holding one (the check runs under the pool's lock,
and the GIL makes the count exact in CPython). Batches are always copies (assemble.py), so no
batch ever points into a buffer. At most ``keep`` buffers are kept; beyond that, or when every kept
one is in use, a buffer is allocated as before and dropped when its last view goes.
"""

from __future__ import annotations

import sys
import threading

import numpy as np



def _refs(buf: np.ndarray) -> int:
    return sys.getrefcount(buf)


def _unused_count() -> int:
    """``_refs`` of a buffer held only by a pool's list, as ``take`` reads it (calibrated, not assumed)."""
    buffers = [np.empty(1, dtype=np.uint8)]
    for buf in buffers:
        return _refs(buf)


_UNUSED = _unused_count()


LINE = 64  # bytes of a cache line


def _start(buf: np.ndarray, need: int) -> np.ndarray:
    """``need`` bytes of ``buf`` from its first cache-line boundary: a 64-byte row (16 float32 features)
    then spans one line instead of two, so the shuffled gather misses the cache once per row, not
    twice. Every view is cut from ``buf`` itself (numpy points a view's base at the array owning the
    memory), so ``_refs(buf)`` still counts every view in use."""
    skip = -buf.ctypes.data % LINE
    return buf[skip:skip + need]


class BufferPool:
    def __init__(self, keep: int):
        self.keep = keep
        self._lock = threading.Lock()
        self._buffers: list[np.ndarray] = []

    def take(self, shape: tuple[int, ...], dtype, capacity_rows: int = 0) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype`` (a view of a pooled buffer when one is free);
        a new buffer has room for ``capacity_rows`` rows (the largest window), so that any later window fits."""
        dtype = np.dtype(dtype)
        row = int(np.prod(shape[1:])) * dtype.itemsize
        need = shape[0] * row
        with self._lock:
            for buf in self._buffers:
                if buf.nbytes >= need + LINE and _refs(buf) <= _UNUSED:
                    return _start(buf, need).view(dtype).reshape(shape)
            buf = np.empty(max(shape[0], capacity_rows) * row + LINE, dtype=np.uint8)
            if len(self._buffers) < self.keep:
                self._buffers.append(buf)
            elif self._buffers:  # full of smaller or busy buffers: replace the smallest free one
                free = [i for i, old in enumerate(self._buffers) if _refs(old) <= _UNUSED]
                if free:
                    self._buffers[min(free, key=lambda i: self._buffers[i].nbytes)] = buf
            return _start(buf, need).view(dtype).reshape(shape)

    def clear(self) -> None:
        with self._lock:
            self._buffers.clear()
