"""Rows kept across epochs (reader/resident.py): when the decoded selection fits in half the memory
budget, every row group is decoded once and later epochs read no shard, with batches element for
element those of a generator that decodes every window (any options, seed, epoch and call order)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen import DataGenerator
from datagen.contract.errors import ConfigError
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
       batch_size=st.sampled_from([100, 1000, 4096]), backwards=st.booleans(), budget=st.sampled_from([24, 192]))
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


ALPHABETS = {"ascii": "abcxyz", "latin-1": "aéü", "cjk": "漢字か", "emoji": "a😀"}


@settings(max_examples=12, deadline=None)
@given(alphabet=st.sampled_from(sorted(ALPHABETS)), length=st.sampled_from([3, 60, 400]),
       distinct=st.sampled_from([5, 3000]), budget_mb=st.sampled_from([4, 12, 48]))
def test_kept_text_stays_within_half_the_budget(tmp_path_factory, alphabet, length, distinct, budget_mb):
    """Kept rows, text included, never take more than half the budget, whatever characters the text
    holds (a str of emoji takes 4 bytes a character: the UTF-8 sizes in the footers understated it 3x)."""
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    from cli_checks import split_cli

    tmp = tmp_path_factory.mktemp("text")
    rng = np.random.default_rng(length + distinct)
    chars = ALPHABETS[alphabet]
    pool = ["".join(rng.choice(list(chars), length)) + str(i) for i in range(distinct)]
    n = 3000
    pq.write_table(pa.table({"g": np.arange(n) % 3, "s": [pool[i % distinct] for i in range(n)],
                             "x": rng.normal(size=n), "y": np.arange(n) % 2}), tmp / "t.parquet")
    assert split_cli(tmp / "t.parquet", "--out", tmp / "ds", "--group-by", "g", "--label", "y").exit_code == 0
    budget = budget_mb << 20
    try:
        gen = DataGenerator(tmp / "ds", {"s": ["s"], "x": ["x"]}, label="y", batch_size=500, memory_budget=budget)
    except ConfigError as exc:   # a row group of long text beyond a small budget: refused, nothing kept
        assert "is too small: a row group of" in str(exc)
        return
    kept = gen.source.windows.resident
    if kept is None:
        return
    for i in range(len(gen)):
        gen[i]
    seen, total = set(), 0
    for array in kept._arrays.values():
        total += array.nbytes
        if array.dtype == object:
            for value in array.ravel():
                if id(value) not in seen:
                    seen.add(id(value))
                    total += sys.getsizeof(value)
    assert total <= budget // 2, (total, budget)


def test_a_clear_during_a_decode_does_not_make_it_start_over(dataset, monkeypatch):
    """A clear() landing on a decode of kept rows threw the decode away and started again, so repeated clears
    starved every reader; now the decode serves what it read (later ones read the files again)."""
    import threading

    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=1000, shuffle=True, seed=3)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(resident_mod, "RESIDENT_SHARE", 10**9)   # rows not kept: every window decoded
        reference = DataGenerator(dataset, FEATURES, label="label", batch_size=1000, shuffle=True, seed=3)[2]
    kept = gen.source.windows.resident
    assert kept is not None
    decode, calls = kept.decoder.decode_into, []

    def decode_then_clear(*args, **kwargs):
        calls.append(1)
        out = decode(*args, **kwargs)
        if len(calls) < 50:
            kept.clear()          # as another thread's clear() would, every time
        return out

    monkeypatch.setattr(kept.decoder, "decode_into", decode_then_clear)
    got = []
    worker = threading.Thread(target=lambda: got.append(gen[2]), daemon=True)
    worker.start()
    worker.join(120)
    assert got and len(calls) == 1
    for a, b in zip(got[0], reference):
        np.testing.assert_array_equal(a, b)
