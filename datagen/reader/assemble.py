"""The batch a caller gets, from slices of decoded windows.

The slices are gathered in epoch order into new arrays (one pass: the permutation, the copy and the
join of slices from two windows in one ``np.take`` per window and output), the Keras tuple is built — ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``,
``x`` a matrix or a dict of inputs, one-hot labels expanded here (never cached) — and the
user's ``transform`` is applied, its errors becoming a TransformError naming the batch.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from datagen.contract.errors import TransformError
from .options import GeneratorOptions
from .outputs import one_hot
from .windows import ORDER


def gather(segments: list[tuple[dict[str, np.ndarray], int, int]]) -> dict[str, np.ndarray]:
    """One batch's arrays from ``(window, lo, hi)`` segments: positions ``lo:hi`` of each window in
    epoch order (through its ``ORDER`` when shuffled), always as new arrays: the windows are shared by
    later batches and epochs, so an in-place edit of a batch (by the caller or a transform) must never
    reach them. (Read-only views were tried: TensorFlow converts them about 10% slower than a copy
    costs.)"""
    rows = sum(hi - lo for _, lo, hi in segments)
    out = {}
    for key, first in segments[0][0].items():
        if key == ORDER:
            continue
        dest = np.empty((rows,) + first.shape[1:], dtype=first.dtype)
        at = 0
        for data, lo, hi in segments:
            order = data.get(ORDER)
            if order is None:
                dest[at:at + hi - lo] = data[key][lo:hi]
            else:  # mode="clip": np.take writes straight into ``out`` (the positions are valid)
                np.take(data[key], order[lo:hi], axis=0, out=dest[at:at + hi - lo], mode="clip")
            at += hi - lo
        out[key] = dest
    return out


def batch_tuple(cols: dict[str, np.ndarray], o: GeneratorOptions) -> tuple:
    """The decoded columns of one batch (keys as in decode.py) as the tuple Keras expects."""
    if isinstance(o.features, dict):
        x = {name: cols[f"x:{name}"] for name in o.features}
    else:
        x = cols["x"]
    if not o.label:
        return (x,)
    y = cols["y"]
    if o.num_classes is not None:
        y = one_hot(y, o.num_classes)
    return (x, y, cols["w"]) if o.sample_weight else (x, y)


def apply_transform(transform: Callable | None, batch: tuple, index: int, epoch: int):
    """``transform(batch)``; anything it raises, or a None result, is a TransformError naming the batch."""
    if transform is None:
        return batch
    try:
        result = transform(batch)
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise TransformError(f"transform raised {type(exc).__name__}: {first} (batch {index} of epoch "
                             f"{epoch})") from exc
    if result is None:
        raise TransformError(f"transform returned None for batch {index} of epoch {epoch}; expected the batch "
                             "(a tuple (x,), (x, y) or (x, y, sample_weight))")
    return result
