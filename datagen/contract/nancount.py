"""NaN counts of a shard's float columns, kept in the shard's Parquet key-value metadata.

Parquet statistics count nulls but not NaN, and a float NaN in a label column is no label. So the
splitter (and compact) record, in every shard they write, ``datagen.nan_counts``: a JSON object
{float column: NaN count} over the shard's float columns (sorted keys, so the bytes are
deterministic). The generator sums it over the selected shards' footers at construction and refuses
NaN labels or sample weights, naming the shard; ``datagen verify`` (full mode) counts NaN labels by
reading the label column, which also covers shards written before the key existed.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

KEY = b"datagen.nan_counts"


def with_nan_counts(table: pa.Table) -> pa.Table:
    """``table`` with its float columns' NaN counts in the schema metadata (written into the footer)."""
    counts = {f.name: count_nan(table.column(f.name)) for f in table.schema if pa.types.is_floating(f.type)}
    meta = dict(table.schema.metadata or {})
    meta[KEY] = json.dumps(counts, sort_keys=True, separators=(",", ":")).encode()
    return table.replace_schema_metadata(meta)


def count_nan(column) -> int:
    """NaN values in ``column`` (an Arrow array or chunked array; 0 unless it is a float column)."""
    if not pa.types.is_floating(column.type) or len(column) == 0:
        return 0
    if not _may_hold_nan(column):
        return 0
    return int(pc.sum(pc.is_nan(column)).as_py() or 0)


def _may_hold_nan(column) -> bool:
    """False when ``column`` surely holds no NaN: a NaN makes a float sum NaN (IEEE 754), so a sum that
    is not NaN proves there is none (numpy sums a shard column in a fraction of the time the exact count
    takes: most columns hold no NaN). A NaN sum (a NaN, or +inf and -inf) or a null asks for the count."""
    with np.errstate(invalid="ignore", over="ignore"):   # +inf + -inf and overflow are data, not faults
        for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
            if chunk.null_count or np.isnan(np.sum(chunk.to_numpy(zero_copy_only=True))):
                return True
    return False


def nan_counts(meta) -> dict[str, int] | None:
    """The recorded counts of a footer (``FileMetaData``), or None for a shard written without them."""
    kv = getattr(meta, "metadata", None) or {}
    raw = kv.get(KEY)
    if raw is None:
        return None
    try:
        counts = json.loads(raw)
    except ValueError:
        return None
    return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else None


def label_nan_problem(path: str, shard_path: str, label: str) -> str | None:
    """One line when the shard file at ``path`` holds labels the generator refuses, NaN or null
    (read from the data), else None."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as pf:
        if label not in pf.schema_arrow.names:
            return None
        columns = [pf.read_row_group(rg, columns=[label]).column(0) for rg in range(pf.num_row_groups)]
    nan = sum(count_nan(c) for c in columns)
    null = sum(c.null_count for c in columns)
    if not nan and not null:
        return None
    held = " and ".join(f"{n:,} {what}" for n, what in ((null, "null"), (nan, "NaN")) if n)
    return (f"shard {shard_path!r}: label column {label!r} holds {held} values (no label); drop or fix those "
            "rows in the input and split again")
