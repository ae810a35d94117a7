"""Property test of the epoch plan against a simple reference: for random row-group layouts,
batch sizes, seeds, shuffle and drop_remainder, every row appears exactly once per epoch (all
but the remainder with drop_remainder), len matches, and a batch is a pure function of
(seed, epoch, index) whatever the call order or plan object."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.reader.plan import EpochPlan, Unit

layouts = st.lists(st.lists(st.integers(1, 40), min_size=1, max_size=4), min_size=1, max_size=6)


def _units(layout):
    units = []
    for shard, groups in enumerate(layout):
        start = 0
        for rg, rows in enumerate(groups):
            units.append(Unit(shard, rg, start, rows))
            start += rows
    return units


def _rows(plan, epoch, batch):
    """The (shard, row within shard) of each example of a batch, the plain way: list the window's
    rows in stored order and apply the window's permutation."""
    out = []
    for window, lo, hi in plan.segments(epoch, batch):
        stored = [(u.shard, u.start + r) for u in window.units for r in range(u.rows)]
        order = plan.window_order(epoch, window)
        positions = range(lo, hi) if order is None else order[lo:hi]
        out.extend(stored[p] for p in positions)
    return out


@settings(max_examples=60, deadline=None)
@given(layout=layouts, batch_size=st.integers(1, 50), seed=st.integers(0, 2**63), shuffle=st.booleans(),
       drop=st.booleans(), window_rows=st.integers(1, 150), epoch=st.integers(0, 10**6))
def test_every_row_once_per_epoch(layout, batch_size, seed, shuffle, drop, window_rows, epoch):
    units = _units(layout)
    every = [(u.shard, u.start + r) for u in units for r in range(u.rows)]  # manifest order
    total = len(every)
    plan = EpochPlan(units, batch_size, drop, shuffle, seed, window_rows)
    expected_len = total // batch_size if drop else math.ceil(total / batch_size)
    assert plan.num_batches == expected_len and plan.total_rows == total

    batches = [_rows(plan, epoch, b) for b in range(plan.num_batches)]
    flat = [r for b in batches for r in b]
    assert all(len(b) == batch_size for b in batches[:-1])
    if drop:
        assert len(flat) == expected_len * batch_size and len(set(flat)) == len(flat) and set(flat) <= set(every)
    else:
        assert sorted(flat) == sorted(every)
    if not shuffle:
        assert flat == every[:len(flat)]

    # windows hold at most window_rows rows, unless one row group alone is bigger
    windows, _ = plan.windows(epoch)
    assert all(w.rows <= window_rows or len(w.units) == 1 for w in windows)
    assert sum(w.rows for w in windows) == total

    # a pure function of (seed, epoch, index): another plan object, any call order
    again = EpochPlan(list(units), batch_size, drop, shuffle, seed, window_rows)
    for b in reversed(range(plan.num_batches)):
        assert _rows(again, epoch, b) == batches[b]
    other = [r for b in range(plan.num_batches) for r in _rows(plan, epoch + 1, b)]
    assert sorted(other) == sorted(flat) if not drop else len(other) == len(flat)
    for bad in (plan.num_batches, -1):
        with pytest.raises(IndexError):
            plan.segments(epoch, bad)


@settings(max_examples=30, deadline=None)
@given(layout=layouts, seed=st.integers(0, 2**32))
def test_shuffled_epochs_differ(layout, seed):
    units = _units(layout)
    total = sum(u.rows for u in units)
    if total < 8:
        return
    plan = EpochPlan(units, 4, False, True, seed, 1000)
    epochs = [[r for b in range(plan.num_batches) for r in _rows(plan, e, b)] for e in range(4)]
    # among four epochs of at least 8 rows, not all orders can be the same (probability < 1e-13)
    assert len({tuple(e) for e in epochs}) > 1
