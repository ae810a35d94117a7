"""The row-conservation check, run before anything is published: every source row read
was written to exactly one shard or dropped (bad time), never both, never twice.

The stage step reports, per source, the rows read and dropped; the reduce step a packed
bitmap of the rows it wrote and how many it wrote (see reduce.py)."""

from __future__ import annotations

import numpy as np

from datagen.contract.errors import ConservationError

from .reduce import ReduceResult
from .sources import SourceFile
from .stage import StageResult


def check_conservation(sources: list[SourceFile], stage: list[StageResult],
                       reduced: list[ReduceResult]) -> dict[int, tuple[int, int, int]]:
    """Source id -> (rows read, rows written, rows dropped); raises ConservationError otherwise."""
    read = {s.id: 0 for s in sources}
    dropped: dict[int, list[np.ndarray]] = {s.id: [] for s in sources}
    for r in stage:
        read[r.source_id] += r.rows_read
        dropped[r.source_id].append(r.dropped_rows)
    counts = {}
    for src in sources:
        n = read[src.id]
        acc = np.zeros((n + 7) // 8, dtype=np.uint8)
        for red in reduced:
            bits = red.written.get(src.id)
            if bits is None:
                continue
            if np.bitwise_and(acc, bits).any():
                raise ConservationError(f"{src.url!r}: some source rows were written to more than one shard")
            np.bitwise_or(acc, bits, out=acc)
        written_mask = np.unpackbits(acc, count=n).astype(bool) if n else np.zeros(0, bool)
        drops = np.concatenate(dropped[src.id]) if dropped[src.id] else np.empty(0, np.int64)
        if len(np.unique(drops)) != len(drops) or (len(drops) and written_mask[drops].any()):
            raise ConservationError(f"{src.url!r}: a dropped row was also written, or dropped twice")
        written = int(written_mask.sum())
        reported = sum(red.counts.get(src.id, 0) for red in reduced)
        if reported != written:
            raise ConservationError(f"{src.url!r}: {reported:,} rows were written for {written:,} distinct source rows "
                                    "(a source row was written twice)")
        if written + len(drops) != n:
            missing = np.flatnonzero(~written_mask)
            missing = missing[~np.isin(missing, drops)]
            raise ConservationError(f"{src.url!r}: read {n:,} rows but wrote {written:,} and dropped {len(drops):,} "
                                    f"(first missing row: {int(missing[0]) if len(missing) else '?'})")
        counts[src.id] = (n, written, len(drops))
    return counts
