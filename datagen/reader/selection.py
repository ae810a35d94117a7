"""What a generator reads: the shards ``where`` selects, and their row groups as the plan's units.

Decided from the manifest alone: pruned shards are never opened. Refused here: a dataset
without shards, a filter that matches none, and a selection that holds no rows.
"""

from __future__ import annotations

from pathlib import Path

from datagen.contract.errors import FilterError, ManifestError
from datagen.contract.format import Manifest
from .plan import Unit
from .where import compile_where


def select_shards(manifest: Manifest, where, directory: Path) -> list[int]:
    """Indices (into ``manifest.shards``) of the shards whose group values ``where`` accepts."""
    predicate = compile_where(where, manifest.group_names, [s.group for s in manifest.shards],
                              manifest.group_types)
    selected = [i for i, s in enumerate(manifest.shards) if predicate(s.group)]
    if not manifest.shards:
        raise ManifestError(f"dataset {str(directory)!r} has no shards: there are no rows to train on")
    if not selected:
        example = manifest.shards[0].group if manifest.shards else {}
        raise FilterError(f"where {where!r} matches none of the {len(manifest.shards)} shards "
                          f"(group values look like {example})")
    return selected


def row_group_units(manifest: Manifest, selected: list[int], where) -> list[Unit]:
    """The non-empty row groups of the selected shards, in manifest order (an empty one adds nothing)."""
    units = []
    for i in selected:
        start = 0
        for rg, rows in enumerate(manifest.shards[i].row_groups):
            if rows > 0:
                units.append(Unit(i, rg, start, rows))
            start += rows
    if not units:
        raise FilterError(f"the {len(selected)} shards selected (where {where!r}) hold no rows")
    return units
