"""Reused window buffers (reader/bufferpool.py), the in-place row order (plan.window_order with ``out``)
and the in-place row-major conversion (outputs.float_matrix with ``out``): the same numbers as before,
and a buffer is never handed out while anything still refers to it."""

import decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from datagen.reader.bufferpool import BufferPool
from datagen.reader.outputs import float_matrix
from datagen.reader.plan import EpochPlan, Unit, Window
from gen_fixtures import FEATURES, dataset  # noqa: F401


@settings(deadline=None, max_examples=50)
@given(ops=st.lists(st.tuples(st.booleans(), st.integers(1, 40), st.sampled_from(["float32", "float64", "int64"])),
                    min_size=1, max_size=40),
       keep=st.integers(1, 4))
def test_pool_never_hands_out_a_buffer_in_use(ops, keep):
    """Against a reference: every live array keeps its own values whatever is taken later; released
    arrays' memory is reused only once nothing refers to it; every array starts on a cache line."""
    pool = BufferPool(keep)
    live: list[tuple[np.ndarray, np.ndarray]] = []  # (array from the pool, the values written into it)
    for n, (release, rows, dtype) in enumerate(ops):
        if release and live:
            live.pop(0)
            continue
        a = pool.take((rows, 3), dtype, capacity_rows=20)
        assert a.shape == (rows, 3) and a.dtype == np.dtype(dtype)
        assert a.ctypes.data % 64 == 0  # rows start on a cache line (a 64-byte row spans one)
        for b, _ in live:
            assert not np.shares_memory(a, b)
        a[...] = n
        live.append((a[1:] if rows > 1 else a, a.copy()[1:] if rows > 1 else a.copy()))  # a view keeps it busy
        for b, want in live:
            assert (b == want).all()


def test_pool_reuses_a_free_buffer_and_keeps_at_most_keep():
    pool = BufferPool(2)
    a = pool.take((10, 4), "float32", capacity_rows=16)
    address = a.__array_interface__["data"][0]
    del a
    b = pool.take((16, 4), "float32")  # fits the capacity of the first buffer
    assert b.__array_interface__["data"][0] == address
    c, d = pool.take((8,), "int64"), pool.take((8,), "int64")  # b busy: c is new, d beyond keep
    assert len(pool._buffers) == 2 and not np.shares_memory(c, d)


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), epoch=st.integers(0, 5), rows=st.integers(1, 3000), spare=st.integers(0, 50))
def test_window_order_in_place_is_the_permutation(seed, epoch, rows, spare):
    plan = EpochPlan([Unit(0, 0, 0, rows)], 32, False, True, seed, rows)
    window = Window(0, tuple(plan.units), 0, rows)
    out = np.full(rows + spare, -1, dtype=np.int64)[:rows]
    assert plan.window_order(epoch, window, out) is out
    assert out.tolist() == np.random.default_rng([seed, epoch, 0]).permutation(rows).tolist()


values = st.one_of(st.none(), st.floats(width=32, allow_nan=False), st.integers(-2**40, 2**40))


@settings(deadline=None, max_examples=40)
@given(cols=st.lists(st.lists(values, min_size=5, max_size=5), min_size=1, max_size=4),
       dtype=st.sampled_from(["float32", "float64"]), kind=st.sampled_from(["float64", "int64", "decimal"]))
def test_float_matrix_into_a_window_slice_matches_a_reference(cols, dtype, kind):
    """Written into the middle of a larger buffer: each value rounded to nearest, nulls NaN, the rows
    around it untouched."""
    limit = {"int64": 2**62, "decimal": 10**15}.get(kind)
    cols = [[v if v is None or limit is None else (int(v) % limit if np.isfinite(v) else None) for v in col]
            for col in cols]

    def arrow(col):
        if kind == "int64":
            return pa.array(col, pa.int64())
        if kind == "decimal":
            return pa.array([None if v is None else decimal.Decimal(v) for v in col], pa.decimal128(16, 0))
        return pa.array(col, pa.float64())

    ref = np.array([[np.nan if v is None else v for v in col] for col in cols], dtype=np.float64).T.astype(dtype)
    window = np.full((9, len(cols)), 7.0, dtype=dtype)
    got = float_matrix([arrow(c) for c in cols], dtype, out=window[2:7])
    assert got.base is window or got.base is window.base
    np.testing.assert_array_equal(window[2:7], ref)
    assert (window[:2] == 7).all() and (window[7:] == 7).all()
    np.testing.assert_array_equal(float_matrix([arrow(c) for c in cols], dtype), ref)


def test_batches_survive_buffer_reuse(dataset):  # noqa: F811
    """With a budget of a few row groups per window, an epoch decodes many windows into reused buffers:
    every batch kept from the start still holds its rows, and a second generator (fresh buffers) and a
    second epoch in reused buffers give the same batches."""
    from datagen import DataGenerator

    kw = dict(label="label", batch_size=500, shuffle=True, seed=3, memory_budget="600KB")
    g = DataGenerator(dataset, FEATURES, **kw)
    assert len(g.source.plan.windows(0)[0]) > 4
    kept = [g[i] for i in range(len(g))]
    snapshot = [(x.copy(), y.copy()) for x, y in kept]
    g.set_epoch(1)
    later = [g[i] for i in range(len(g))]
    g.set_epoch(0)
    again = [g[i] for i in range(len(g))]
    fresh = DataGenerator(dataset, FEATURES, **kw)
    for i, (x, y) in enumerate(kept):
        np.testing.assert_array_equal(x, snapshot[i][0])
        np.testing.assert_array_equal(y, snapshot[i][1])
        np.testing.assert_array_equal(x, again[i][0])
        np.testing.assert_array_equal(x, fresh[i][0])
        np.testing.assert_array_equal(y, fresh[i][1])
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(kept, later))
    assert len(g.source.decoder.pool._buffers) <= g.source.decoder.pool.keep


@pytest.mark.parametrize("workers", [1, 3])
def test_threads_sharing_reused_buffers_get_the_same_batches(dataset, workers):  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    from datagen import DataGenerator

    kw = dict(label="label", batch_size=300, shuffle=True, seed=11, memory_budget="600KB")
    ref = DataGenerator(dataset, FEATURES, **kw)
    want = [ref[i] for i in range(len(ref))]
    g = DataGenerator(dataset, FEATURES, **kw)
    with ThreadPoolExecutor(workers) as ex:
        got = list(ex.map(g.__getitem__, range(len(g))))
    for (x, y), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(x, wx)
        np.testing.assert_array_equal(y, wy)
