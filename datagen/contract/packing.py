"""Filling bins in order: the one loop behind the split's work units and reduce batches and the
generator's shuffle windows.

Items keep their order; an item goes into the current bin unless it would push the bin past
``capacity`` (a bin with one item may exceed it: an item is never split).
"""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def pack_in_order(items: Iterable[T], size: Callable[[T], int], capacity: int) -> list[tuple[list[T], int]]:
    """Consecutive runs of ``items`` whose sizes add up to at most ``capacity``, with each run's size."""
    bins: list[tuple[list[T], int]] = []
    current: list[T] = []
    total = 0
    for item in items:
        n = size(item)
        if current and total + n > capacity:
            bins.append((current, total))
            current, total = [], 0
        current.append(item)
        total += n
    if current:
        bins.append((current, total))
    return bins
