"""The epoch plan: which rows make batch ``i`` of epoch ``e``.

Units are Parquet row groups of the selected shards (sizes from the manifest,
so planning opens no file). Without shuffling, units keep manifest order. With
shuffling, the units are permuted per epoch and packed into windows of at most
``window_rows`` rows; the rows of each window are permuted again, so every
batch mixes rows from many shards while only a window or two is ever decoded.
Every selected row appears exactly once per epoch. All randomness comes from
``numpy.random.default_rng([seed, epoch, ...])``: a pure function of its inputs.
"""

from __future__ import annotations

import bisect
import operator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from datagen.contract.errors import ConfigError
from datagen.contract.packing import pack_in_order


def check_epoch(epoch) -> int:
    """An epoch number: an integer >= 0 (it seeds the epoch's shuffle)."""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ConfigError(f"epoch: expected a non-negative integer, got {epoch!r}")
    return int(epoch)


def check_batch_index(index) -> int:
    """A batch index: an integer, never a bool (``True`` is not batch 1)."""
    if isinstance(index, (bool, np.bool_)):
        raise TypeError(f"batch index must be an integer, got {index!r}")
    try:
        return operator.index(index)
    except TypeError:
        raise TypeError(f"batch index must be an integer, got {index!r}") from None


def batch_out_of_range(index: int, n: int) -> IndexError:
    """The error for a batch index outside ``-n..n-1`` (``gen[i]`` and ``gen.provenance(i)``)."""
    return IndexError(f"batch index {index} out of range: this generator has {n} batches "
                      f"(valid indices 0..{n - 1}, or -{n}..-1 from the end)")


@dataclass(frozen=True)
class Unit:
    shard: int      # index into manifest.shards
    row_group: int
    start: int      # first row of the row group within its shard
    rows: int


@dataclass(frozen=True)
class Window:
    index: int
    units: tuple[Unit, ...]
    start: int      # epoch position of the window's first row
    rows: int


class EpochPlan:
    def __init__(self, units: list[Unit], batch_size: int, drop_remainder: bool, shuffle: bool, seed: int,
                 window_rows: int):
        self.units = list(units)
        self.batch_size = batch_size
        self.drop_remainder = drop_remainder
        self.shuffle = shuffle
        self.seed = seed
        self.window_rows = max(1, window_rows)
        self.total_rows = sum(u.rows for u in self.units)
        full, rest = divmod(self.total_rows, batch_size)
        self.num_batches = full if (drop_remainder or rest == 0) else full + 1
        self._windows = lru_cache(maxsize=4)(self._make_windows)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_windows")
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._windows = lru_cache(maxsize=4)(self._make_windows)

    def epoch_key(self, epoch: int) -> int:
        """Epochs that share a plan share a key (all of them without shuffling)."""
        return epoch if self.shuffle else 0

    def windows(self, epoch: int) -> tuple[list[Window], list[int]]:
        return self._windows(self.epoch_key(epoch))

    def _make_windows(self, key: int) -> tuple[list[Window], list[int]]:
        order = np.random.default_rng([self.seed, key]).permutation(len(self.units)) if self.shuffle \
            else np.arange(len(self.units))
        windows: list[Window] = []
        start = 0
        for units, rows in pack_in_order((self.units[i] for i in order.tolist()), lambda u: u.rows,
                                         self.window_rows):
            windows.append(Window(len(windows), tuple(units), start, rows))
            start += rows
        return windows, [w.start for w in windows]

    def window_order(self, epoch: int, window: Window, out: np.ndarray | None = None) -> np.ndarray | None:
        """Row order inside a window (None = as stored), written into ``out`` (int64, ``window.rows``
        long) when given: the same numbers, since ``permutation(n)`` is ``shuffle(arange(n))``."""
        if not self.shuffle:
            return None
        rng = np.random.default_rng([self.seed, self.epoch_key(epoch), window.index])
        if out is None:
            return rng.permutation(window.rows)
        out[...] = np.arange(window.rows)
        rng.shuffle(out)
        return out

    def segments(self, epoch: int, batch: int) -> list[tuple[Window, int, int]]:
        """The (window, first, last+1) positions inside windows that make up ``batch``."""
        if not 0 <= batch < self.num_batches:
            raise IndexError(f"batch {batch} out of range: this generator has {self.num_batches} batches")
        lo = batch * self.batch_size
        hi = min(lo + self.batch_size, self.total_rows)
        windows, starts = self.windows(epoch)
        out = []
        w = bisect.bisect_right(starts, lo) - 1
        while lo < hi:
            win = windows[w]
            end = min(hi, win.start + win.rows)
            out.append((win, lo - win.start, end - win.start))
            lo = end
            w += 1
        return out
