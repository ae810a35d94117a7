"""The memory budget -> rows per window, from the bytes one decoded row takes in a window
(text from the sizes the shards' footers give, never a fixed guess).

Two decoded windows are cached while the next one is built in the background (windows.py),
and building one briefly holds its row groups' read buffers and Arrow tables, their converted
arrays and the joined labels (float matrices are written in place) (no permuted copy: the row order is applied per batch); so a window is
at most an eighth of the budget (kept at an eighth since it sizes the windows, and so the batches). Refused at
construction: a budget too small for the biggest row group, one-hot labels that would take
more than the budget per batch, and (check_not_empty) a generator with no batch at all;
a budget that allows one row group per shuffle window warns.
"""

from __future__ import annotations

import math
import warnings

from datagen.contract.errors import ConfigError
from .footer_stats import ColumnStats
from .options import GeneratorOptions
from datagen.contract.format import is_text
from .outputs import label_dtype
from .plan import EpochPlan, Unit

WINDOW_SHARE = 8  # a window takes at most 1/WINDOW_SHARE of memory_budget


TEXT_OVERHEAD = 96  # per text value: Python str header, array pointer, Arrow offset and index


def text_bytes(column: str, stats: dict[str, ColumnStats], group_values: dict[int, dict]) -> int:
    """Bytes one text value of ``column`` may take decoded: the largest uncompressed bytes per row of
    its column chunks in the footers (text is read dictionary-encoded, so a repeated value is held
    once), or its longest group value, plus the per-value overhead."""
    if column in stats:
        return math.ceil(stats[column].bytes_per_row) + TEXT_OVERHEAD
    values = [v.get(column) for v in group_values.values()]
    return max((len(str(v).encode()) for v in values if v is not None), default=0) + TEXT_OVERHEAD


def decoded_row_bytes(types: dict[str, str], o: GeneratorOptions, stats: dict[str, ColumnStats] | None = None,
                      group_values: dict[int, dict] | None = None, text_factor: int = 1) -> int:
    """Bytes one row takes in a decoded window: its outputs (text from the footers' sizes, see
    ``text_bytes``, times ``text_factor``) and its 8-byte place in the window's row order. A Python str
    holding any character beyond Latin-1 takes 2 or 4 bytes a character (UTF-8 bytes are at least the
    characters), so ``text_factor=4`` bounds text whatever it holds (resident.py keeps every row)."""
    width = 8 if o.dtype == "float64" else 4
    total = sum(text_factor * text_bytes(c, stats or {}, group_values or {}) if is_text(types[c]) else width
                for c in o.feature_columns)
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


def check_not_empty(plan: EpochPlan) -> None:
    """Refuse a generator with no batches (drop_remainder with fewer rows than one batch)."""
    if plan.num_batches == 0:
        raise ConfigError(f"drop_remainder=True with batch_size={plan.batch_size:,} leaves no batch: the selected "
                          f"shards hold only {plan.total_rows:,} rows; lower batch_size or drop drop_remainder")
