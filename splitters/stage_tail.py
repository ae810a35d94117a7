"""The stage step's last tasks cut short, so that no core idles long at the end of the step.

The write step starts only when every unit is staged (each group gathers rows from every unit). With
units of equal size (one per 1M-row file, say) the last round of stage tasks rarely ends together: one
core finishes its last unit and idles while the other still stages a whole one (measured on the 2-core
VM: 0.15-0.4 s with one busy core at the end of a 20M-row split's stage step). ``split_tail`` cuts each
of the last ``workers`` local Parquet units into up to ``TAIL_PIECES`` units of consecutive row groups
of about equal rows, so the step ends with short tasks.

A unit that read its source whole to fingerprint it (stage_hashed.py) keeps doing so in its first
piece, which then stages only its own row groups; the other pieces read theirs. Which unit stages a
row never changes a shard's bytes: the reduce step takes a group's slices in unit order, which is
source order either way (units stay numbered in plan order)."""

from __future__ import annotations

import dataclasses

from .sources import parquet_file
from .stage import WorkUnit

TAIL_PIECES = 4


def split_tail(units: list[WorkUnit], whole: set[int], workers: int,
               pieces: int = TAIL_PIECES) -> tuple[list[WorkUnit], set[int]]:
    """(the units with each of the last ``workers`` local Parquet units of two or more row groups cut into
    up to ``pieces`` units, renumbered in order; the indices of the units that read their source whole,
    renumbered: a cut unit's first piece)."""
    tail = {u.index for u in units[-max(1, workers):]
            if u.format == "parquet" and "://" not in u.url and len(u.row_groups) > 1} if pieces > 1 else set()
    if not tail:
        return units, set(whole)
    out: list[WorkUnit] = []
    new_whole: set[int] = set()
    for u in units:
        if u.index not in tail:
            new_whole.update({len(out)} if u.index in whole else set())
            out.append(dataclasses.replace(u, index=len(out)))
            continue
        meta = parquet_file(u.url).metadata
        sizes = [meta.row_group(rg).num_rows for rg in u.row_groups]
        first = u.first_row
        for k, (groups, rows) in enumerate(cut_in_order(list(u.row_groups), sizes, pieces)):
            if k == 0 and u.index in whole:
                new_whole.add(len(out))
            out.append(dataclasses.replace(u, index=len(out), row_groups=tuple(groups), first_row=first))
            first += rows
    return out, new_whole


def cut_in_order(items: list, sizes: list[int], pieces: int) -> list[tuple[list, int]]:
    """``items`` cut into at most ``pieces`` non-empty runs, in order, of about equal size: an item goes to
    the piece its middle falls in (each run with its size)."""
    total = max(1, sum(sizes))
    runs: list[tuple[list, int]] = []
    before, last = 0, -1
    for item, n in zip(items, sizes):
        k = min(pieces - 1, (2 * before + n) * pieces // (2 * total))
        if k != last or not runs:
            runs.append(([], 0))
            last = k
        runs[-1][0].append(item)
        runs[-1] = (runs[-1][0], runs[-1][1] + n)
        before += n
    return runs
