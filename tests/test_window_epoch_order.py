"""Shuffled windows are permuted once, when decoded (reader/decode.py): a cached window holds its rows in
epoch order, a batch is a contiguous slice of one or two windows copied out, and the result is the same
rows as the window decoded as stored and taken through the plan's row order (the reference)."""

import numpy as np
from hypothesis import given, settings, strategies as st

from datagen import DataGenerator
from gen_fixtures import FEATURES


def _gen(dataset, **kw):
    opts = dict(label="label", batch_size=700, shuffle=True, seed=3, memory_budget="1MiB")
    return DataGenerator(dataset, FEATURES, **{**opts, **kw})


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), epoch=st.integers(0, 50), budget_kib=st.sampled_from([512, 1024, 3072]),
       weights=st.booleans())
def test_decoded_window_is_the_stored_rows_taken_in_the_plan_order(dataset, seed, epoch, budget_kib, weights):
    gen = _gen(dataset, seed=seed, memory_budget=f"{budget_kib}KiB", sample_weight="f3" if weights else None)
    src = gen.source
    for window in src.plan.windows(epoch)[0][:3]:
        order = src.plan.window_order(epoch, window)
        stored = src.decoder.decode(window)
        permuted = src.decoder.decode(window, order)
        assert set(permuted) == set(stored)
        for key, value in stored.items():
            np.testing.assert_array_equal(permuted[key], value[order])
            assert permuted[key].dtype == value.dtype and permuted[key].flags.c_contiguous


def test_cached_window_is_in_epoch_order_and_batches_are_its_slices(dataset):
    gen = _gen(dataset)
    src = gen.source
    for i in range(len(gen)):
        x, y = gen[i]
        rows = [(src.windows.get(0, w), lo, hi) for w, lo, hi in src.plan.segments(0, i)]
        np.testing.assert_array_equal(x, np.concatenate([d["x"][lo:hi] for d, lo, hi in rows]))
        np.testing.assert_array_equal(y, np.concatenate([d["y"][lo:hi] for d, lo, hi in rows]))
        assert all(set(d) == {"x", "y"} for d, _, _ in rows)  # no row order kept beside the arrays
        assert not any(np.shares_memory(x, d["x"]) or np.shares_memory(y, d["y"]) for d, _, _ in rows)


def test_editing_a_batch_from_one_window_leaves_the_window_alone(dataset):
    gen = _gen(dataset)
    one = next(i for i in range(len(gen)) if len(gen.source.plan.segments(0, i)) == 1)
    x, y = gen[one]
    before = x.copy()
    x[:] = -1.0
    y[:] = 7
    again_x, again_y = gen[one]
    np.testing.assert_array_equal(again_x, before)
    assert not (again_y == 7).all()
