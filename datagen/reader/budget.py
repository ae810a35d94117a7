"""The memory budget -> rows per window, from the bytes one decoded row takes in a window.

Two decoded windows are cached while the next one is built in the background (windows.py),
and building one briefly holds its read buffers, the Arrow table, the matrix and its permuted
copy (about five times its size); so a window is at most an eighth of the budget. Refused at
construction: a budget too small for the biggest row group, and one-hot labels that would take
more than the budget per batch; a budget that allows one row group per shuffle window warns.
"""

from __future__ import annotations

import warnings

from datagen.contract.errors import ConfigError
from .options import GeneratorOptions
from .outputs import is_text, label_dtype
from .plan import Unit

WINDOW_SHARE = 8  # a window takes at most 1/WINDOW_SHARE of memory_budget


def decoded_row_bytes(types: dict[str, str], o: GeneratorOptions) -> int:
    """Bytes one row takes in a decoded window: its outputs (text counted as 48 bytes a value) and
    its 8-byte place in the window's row order."""
    width = 8 if o.dtype == "float64" else 4
    total = sum(48 if is_text(types[c]) else width for c in o.feature_columns)
    total += width if o.sample_weight else 0
    if o.label:
        total += 8 if o.num_classes is not None else label_dtype(types[o.label]).byte_width
    return max(total, 4) + 8  # + the window's row order


def window_rows(o: GeneratorOptions, row_bytes: int, units: list[Unit]) -> int:
    """The most rows a window may hold under ``o.memory_budget``; refuses budgets that cannot work."""
    rows = o.memory_budget // (WINDOW_SHARE * row_bytes)
    biggest = max(u.rows for u in units)
    if biggest > rows:
        need = biggest * WINDOW_SHARE * row_bytes
        raise ConfigError(f"memory_budget {o.memory_budget:,} bytes is too small: a row group of "
                          f"{biggest:,} rows needs about {need:,} bytes; raise it to at least {need:,}")
    if o.shuffle and rows < 2 * biggest:
        warnings.warn(f"memory_budget {o.memory_budget:,} bytes allows only one row group per shuffle window: "
                      "rows will be shuffled within row groups but not mixed across shards; raise memory_budget",
                      UserWarning, stacklevel=4)
    if o.num_classes is not None and o.batch_size * o.num_classes * 4 > o.memory_budget:
        raise ConfigError(f"num_classes={o.num_classes:,} with batch_size={o.batch_size:,}: one-hot "
                          f"labels take {o.batch_size * o.num_classes * 4:,} bytes a batch, more than "
                          f"memory_budget {o.memory_budget:,}")
    return rows
