"""The one bin-packing loop (issue #11), against a direct restatement of its rule."""

from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.contract.packing import pack_in_order


@settings(deadline=None, max_examples=200)
@given(st.lists(st.integers(0, 50), max_size=60), st.integers(1, 80))
def test_runs_are_maximal_in_order_and_within_capacity(sizes, capacity):
    bins = pack_in_order(list(enumerate(sizes)), lambda item: item[1], capacity)
    assert [item for run, _ in bins for item in run] == list(enumerate(sizes))  # order kept, nothing lost
    for k, (run, total) in enumerate(bins):
        assert run and total == sum(n for _, n in run)
        assert total <= capacity or len(run) == 1          # only a lone item may exceed the capacity
        if k + 1 < len(bins):                               # a run ends only when the next item would not fit
            assert total + bins[k + 1][0][0][1] > capacity
