"""A note after a split or append whose ``--label`` column holds nulls.

The split stores every row, labelled or not (the data is the data), but a ``DataGenerator`` with that
label refuses null labels and ``datagen verify`` fails such a dataset: rows without a label cannot
train. Said at the end of the run, from the shards' ``label_counts`` (integer, text and boolean
labels; a float label's NaN and nulls are not counted there, so ``datagen verify`` is the check)."""

from __future__ import annotations

from datagen.contract.format import ShardEntry


def label_notes(label: str | None, shards: list[ShardEntry]) -> tuple[str, ...]:
    if label is None:
        return ()
    missing = [(s.label_counts or {}).get("null", 0) for s in shards]
    total = sum(missing)
    if not total:
        return ()
    first = next(s.path for s, n in zip(shards, missing) if n)
    return (f"label column {label!r} holds {total:,} null values (first in shard {first!r}): a DataGenerator "
            f"with label={label!r} refuses them and datagen verify fails the dataset; drop or fill those rows in the "
            "input and split again, or split without --label",)
