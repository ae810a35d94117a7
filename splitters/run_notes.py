"""Notes after a split (``split_notes``), and the one after a split or append whose ``--label`` column holds nulls.

The split stores every row, labelled or not (the data is the data), but a ``DataGenerator`` with that
label refuses null labels and ``datagen verify`` fails such a dataset: rows without a label cannot
train. Said at the end of the run, from the shards' ``label_counts`` (integer, text and boolean
labels; a float label's NaN and nulls are not counted there, so ``datagen verify`` is the check)."""

from __future__ import annotations

from datagen.contract.format import Manifest, ShardEntry

from .localtimes import zone_notes
from .plan import shortened_note


def label_notes(label: str | None, shards: list[ShardEntry]) -> tuple[str, ...]:
    if label is None:
        return ()
    missing = [(s.label_counts or {}).get("null", 0) for s in shards]
    total = sum(missing)
    if not total:
        return ()
    first = next(s.path for s, n in zip(shards, missing) if n)
    return (f"label column {label!r} holds {total:,} null value{'s' if total > 1 else ''} (first in shard {first!r}): a DataGenerator "
            f"with label={label!r} refuses them and datagen verify fails the dataset; drop or fill those rows in the "
            "input and split again, or split without --label",)


def split_notes(cfg, jobs: list, schema, naive_rows: int, derived: bool, manifest: Manifest) -> tuple[str, ...]:
    """Every note of a finished split: shortened group directories, time zones (localtimes.py), null labels."""
    time_type = schema.field(cfg.time_column).type if cfg.time_column else None
    return shortened_note(jobs) + zone_notes(cfg.time_column, time_type, cfg.timezone, cfg.naive_timezone,
                                             naive_rows, derived) + label_notes(cfg.label, manifest.shards)
