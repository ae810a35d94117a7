"""The stage step's last units are cut short (stage_tail.py, issue 14): each of the last ``workers``
local Parquet units becomes up to TAIL_PIECES units of consecutive row groups, renumbered in order;
a unit that read its source whole to fingerprint it does so in its first piece. The shards, the
source fingerprints and the manifest are those of the uncut plan."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitters import split as split_module
from splitters import stage as stage_module
from splitters.config import SplitConfig
from splitters.plan import plan_units
from splitters.sources import discover
from splitters.stage_tail import TAIL_PIECES, cut_in_order, split_tail


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 1000), min_size=1, max_size=40), pieces=st.integers(1, 8))
def test_cut_in_order_is_consecutive_runs_of_about_equal_size(sizes, pieces):
    runs = cut_in_order(list(range(len(sizes))), sizes, pieces)
    assert [i for items, _ in runs for i in items] == list(range(len(sizes)))   # every item once, in order
    assert 1 <= len(runs) <= pieces and all(items for items, _ in runs)
    assert [n for _, n in runs] == [sum(sizes[i] for i in items) for items, _ in runs]
    if len(set(sizes)) == 1 and sizes[0] > 0 and len(sizes) % pieces == 0:   # equal items: equal runs
        assert len(runs) == pieces and len({len(items) for items, _ in runs}) == 1


def test_last_units_are_cut_into_short_ones(sample_parquet):
    sources = discover([str(sample_parquet)])
    units = plan_units(sources, batch_rows=1_000_000)   # one unit per file (3 row groups each)
    assert [len(u.row_groups) for u in units] == [3, 3, 3]
    cut, whole = split_tail(units, {0, 1, 2}, workers=2)
    assert [u.index for u in cut] == list(range(len(cut)))
    assert [(u.source_id, u.row_groups, u.first_row) for u in cut] == [
        (0, (0, 1, 2), 0),
        (1, (0,), 0), (1, (1,), 1500), (1, (2,), 3000),
        (2, (0,), 0), (2, (1,), 1500), (2, (2,), 3000)]
    assert whole == {0, 1, 4}   # the first piece of a source read whole still reads (and hashes) it whole
    assert split_tail(units, {0}, workers=2, pieces=1) == (units, {0})   # nothing cut


def _split(src, out, workers):
    return split_module.run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="event_time",
                                              group_by=["month", "day"], label="label", workers=workers,
                                              progress=False))


def _shards(out):
    m = json.loads((out / "manifest.json").read_text())
    return sorted(zip(m["shards"]["path"], m["shards"]["sha256"])), [s["sha256"] for s in m["sources"]]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_cut_tail_writes_the_shards_of_the_uncut_plan(sample_parquet, tmp_path, monkeypatch, workers):
    staged = []
    stage_unit = stage_module.stage_unit

    def noting(unit, ctx, hash_source=False):
        staged.append((unit.source_id, unit.row_groups, hash_source))
        return stage_unit(unit, ctx, hash_source=hash_source)

    monkeypatch.setattr(split_module, "stage_unit", noting)
    _split(sample_parquet, tmp_path / "cut", workers)
    assert TAIL_PIECES >= 3 and len(staged) == 3 + 2 * min(workers, 3)   # a cut unit: one per row group
    assert sorted(s for s in staged if s[2]) == [(i, (0,) if i >= 3 - workers else (0, 1, 2), True) for i in range(3)]
    monkeypatch.setattr(split_module, "split_tail", lambda units, whole, workers: (units, whole))
    staged.clear()
    _split(sample_parquet, tmp_path / "uncut", workers)
    assert len(staged) == 3
    cut, uncut = _shards(tmp_path / "cut"), _shards(tmp_path / "uncut")
    assert cut == uncut and len(cut[0]) > 10
    files = sorted(sample_parquet.glob("*.parquet"))
    assert cut[1] == [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
