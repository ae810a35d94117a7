"""gather.py's cheaper sort and gather give exactly what the plain forms give: the time sort equals a
stable argsort (with the ticks in that order), on both of its paths (packed keys, and the argsort
for spans too wide to pack), and the gather equals ``pc.take`` of the chunked table, dictionary
columns with a different dictionary per chunk included."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from splitters.gather import gather_pieces, gather_rows, time_sort
from splitters.missing_times import MISSING_TIME

I64 = np.iinfo(np.int64)
# narrow spans (the packed path), and values across the whole int64 range (the argsort path), with ties
ticks = st.one_of(
    st.lists(st.integers(-5, 5), max_size=60),
    st.lists(st.integers(1_704_067_200 * 10**9, 1_704_153_600 * 10**9), max_size=60),
    st.lists(st.sampled_from([I64.min, -1, 0, 7, I64.max - 1, MISSING_TIME]), max_size=60),
    st.lists(st.integers(I64.min, I64.max), max_size=60),
    st.lists(st.integers(0, 2**61), max_size=60),          # a few ticks dropped from the key
    st.lists(st.sampled_from([0, 1, 2, 3, 2**62]), max_size=60),  # ticks sharing a coarse key, out of order
).map(lambda v: np.array(v, dtype=np.int64))


@settings(deadline=None, max_examples=60)
@given(ticks, st.booleans())
def test_time_sort_is_a_stable_argsort_with_the_ticks_in_order(ns, presort):
    if presort:
        ns = np.sort(ns)
    order, ordered = time_sort(ns)
    expected = np.argsort(ns, kind="stable")
    assert np.array_equal(np.arange(len(ns)) if order is None else order, expected)
    assert ordered.dtype == np.int64 and np.array_equal(ordered, ns[expected])
    if presort:
        assert order is None


def test_time_sort_packs_a_day_of_nanoseconds_and_falls_back_for_wider_spans():
    rng = np.random.default_rng(3)
    day = 1_704_067_200 * 10**9 + rng.integers(0, 86_400 * 10**9, 50_000)
    day[10:20] = day[5]   # ties keep their arrival order
    big = 1_704_067_200 * 10**9 + rng.integers(0, 86_400 * 10**9, 300_000)   # 47 + 19 bits: 2 ticks dropped
    big[100:110] = big[7]
    near = big.copy()
    near[1::2] = near[::2] + 1   # ticks a nanosecond apart, in a shuffled order: the coarse key cannot tell
    near = near[rng.permutation(len(near))]
    for ns in (day, np.concatenate([day, [MISSING_TIME, I64.min]]), big, near):
        order, ordered = time_sort(ns)
        assert np.array_equal(order, np.argsort(ns, kind="stable"))
        assert np.array_equal(ordered, np.sort(ns))


def _chunked(values: list, sizes: list[int], dictionary: bool) -> pa.ChunkedArray:
    chunks, start = [], 0
    for size in sizes:
        part = pa.array(values[start:start + size], pa.string())
        chunks.append(part.dictionary_encode() if dictionary else part)
        start += size
    return pa.chunked_array(chunks, pa.dictionary(pa.int32(), pa.string()) if dictionary else pa.string())


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6), st.data(), st.sampled_from([gather_rows, gather_pieces]))
def test_gather_rows_equals_a_take_of_the_chunked_table(sizes, data, gather):
    n = sum(sizes)
    text = data.draw(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "zz", ""])), min_size=n, max_size=n))
    nums = data.draw(st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), min_size=n, max_size=n))
    order = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
    num_chunks, start = [], 0
    for size in sizes:
        num_chunks.append(pa.array(nums[start:start + size], pa.float64()))
        start += size
    table = pa.table({"x": pa.chunked_array(num_chunks, pa.float64()), "t": _chunked(text, sizes, False),
                      "d": _chunked(text, sizes, True)})
    use_order = data.draw(st.booleans())
    got = gather(table, order if use_order else None)
    expected = pc.take(table, pa.array(order)) if use_order else table
    assert all(c.num_chunks <= 1 for c in got.columns)
    assert got.schema == table.schema
    assert got.to_pylist() == expected.to_pylist()
    assert got.equals(expected.combine_chunks())   # dictionaries included: the staged bytes depend on them
