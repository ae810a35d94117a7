"""Rows kept across epochs (reader/resident.py): when the decoded selection fits in half the memory
budget, every row group is decoded once and later epochs read no shard, with batches element for
element those of a generator that decodes every window (any options, seed, epoch and call order)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen import DataGenerator
from datagen.reader import resident as resident_mod
from gen_fixtures import FEATURES

VARIANTS = {
    "plain": dict(features=FEATURES, label="label"),
    "dict+text+weights": dict(features={"num": FEATURES[:3], "cat": ["category"], "month": ["month"]},
                              label="label", sample_weight="f3"),
    "one-hot+where": dict(features=FEATURES, label="label", num_classes=2, where="month <= 6"),
    "inputs only, float64": dict(features=FEATURES, dtype="float64"),
}


def _batches(gen, epochs, order):
    return [(e, i, gen.source.batch(i, e)) for e in epochs for i in order(len(gen))]


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@settings(max_examples=30, deadline=None)
@given(variant=st.sampled_from(sorted(VARIANTS)), seed=st.integers(0, 5), shuffle=st.booleans(),
       batch_size=st.sampled_from([100, 1000, 4096]), backwards=st.booleans(), budget=st.sampled_from([8, 192]))
def test_resident_batches_are_the_decoded_windows_batches(dataset, variant, seed, shuffle, batch_size,
                                                          backwards, budget):
    options = dict(VARIANTS[variant], batch_size=batch_size, shuffle=shuffle, seed=seed,
                   memory_budget=f"{budget}MB")
    order = (lambda n: range(n - 1, -1, -1)) if backwards else range
    gen = DataGenerator(dataset, **options)
    assert gen.source.windows.resident is not None  # 12,000 small rows fit
    got = _batches(gen, [0, 1, 3], order)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(resident_mod, "RESIDENT_SHARE", 10**9)  # nothing fits: every window decoded (as before)
        ref_gen = DataGenerator(dataset, **options)
        assert ref_gen.source.windows.resident is None
        want = _batches(ref_gen, [0, 1, 3], range)
    want = {(e, i): b for e, i, b in want}
    for e, i, batch in got:
        assert _same(batch, want[e, i]), (e, i)


def test_threads_share_the_resident_rows(dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=100, shuffle=True, seed=4)
    ref = [gen.source.batch(i, 2) for i in range(len(gen))]
    fresh = DataGenerator(dataset, FEATURES, label="label", batch_size=100, shuffle=True, seed=4)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: fresh.source.batch(i, 2), range(len(fresh))))
    assert all(_same(a, b) for a, b in zip(ref, got, strict=True))


def test_later_epochs_open_no_shard_and_memory_stays_in_its_share(dataset, monkeypatch):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=500, shuffle=True, seed=1, memory_budget="2MB")
    opened = []
    real_open = type(gen.source.shards).open
    monkeypatch.setattr(type(gen.source.shards), "open", lambda self, i: opened.append(i) or real_open(self, i))
    for i in range(len(gen)):
        gen.source.batch(i, 0)
    assert set(opened) == set(gen.source.selected) and len(opened) <= len(gen.source.plan.units)  # each unit once
    opened.clear()
    for e in (1, 2):
        for i in range(len(gen)):
            gen.source.batch(i, e)
    assert opened == []
    rows = gen.source.windows.resident
    held = sum(a.nbytes for a in rows._arrays.values())
    assert 0 < held <= gen.source.options.memory_budget // resident_mod.RESIDENT_SHARE


def test_a_selection_beyond_half_the_budget_is_decoded_per_window(dataset):
    with pytest.warns(UserWarning, match="one row group per shuffle window"):
        gen = DataGenerator(dataset, FEATURES, label="label", batch_size=64, shuffle=True, memory_budget=256 << 10)
    assert gen.source.windows.resident is None
