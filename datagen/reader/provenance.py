"""A batch's provenance: for each example, in batch order, the row it came from.

One table row per example: its shard and row within the shard, its source id, source file
and row within that file (from the shard's lineage columns, checked against the manifest),
and its shard's group values (named ``group.<name>`` when a name is one the table uses itself: a lineage
field, or ``example``, the index's name, which ``reset_index()`` and the CLI's CSV/JSON make a column).
Only the lineage columns of the row groups the batch touches are read; no window is decoded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datagen.contract.format import Manifest
from .plan import EpochPlan, check_epoch
from .shards import ShardAccess

PROVENANCE_FIELDS = ("shard", "shard_row", "source_id", "source", "source_row")
PROVENANCE_INDEX = "example"
PROVENANCE_NAMES = frozenset((*PROVENANCE_FIELDS, PROVENANCE_INDEX))   # every name the table uses itself


def provenance_name(group_column: str) -> str:
    """A group column's name in provenance tables: ``group.<name>`` when it would clash with a name the
    table uses itself (a lineage field or the index's name), or with such a renamed one."""
    return f"group.{group_column}" if group_column in PROVENANCE_NAMES or group_column.startswith("group.") \
        else group_column


def provenance_table(manifest: Manifest, plan: EpochPlan, shards: ShardAccess, index: int,
                     epoch: int = 0) -> pd.DataFrame:
    """One row per example of batch ``index`` of ``epoch``, in batch order."""
    m = manifest
    check_epoch(epoch)
    sources = m.source_by_id()
    frames = []
    for window, lo, hi in plan.segments(epoch, index):
        order = plan.window_order(epoch, window)
        positions = order[lo:hi] if order is not None else np.arange(lo, hi)
        starts = np.cumsum([0] + [u.rows for u in window.units])
        which = np.searchsorted(starts, positions, side="right") - 1
        within = positions - starts[which]
        lineage = {k: shards.lineage(window.units[k].shard, window.units[k].row_group)
                   for k in np.unique(which).tolist()}
        rows = []
        for k, r in zip(which.tolist(), within.tolist()):
            unit = window.units[k]
            shard = m.shards[unit.shard]
            sid = int(lineage[k][0][r])
            rows.append({"shard": shard.path, "shard_row": unit.start + r, "source_id": sid,
                         "source": sources[sid].path, "source_row": int(lineage[k][1][r]),
                         **{provenance_name(g): v for g, v in shard.group.items()}})
        frames.append(pd.DataFrame(rows))
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    table.index.name = PROVENANCE_INDEX
    return table
