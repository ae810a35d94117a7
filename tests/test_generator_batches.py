"""DataGenerator batches: every row once per epoch, order and reproducibility,
threads and processes agree, dict features, where pruning, memory bound, errors."""

import multiprocessing
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from datagen import DataGenerator
from datagen.contract.errors import ColumnError, ConfigError, FilterError, ManifestError, ShardError
from datagen.contract.manifest import read_manifest
from gen_fixtures import FEATURES, ROWS, source_rows


def _ids(gen, epoch):
    """Source identity (path index, row) of every example of an epoch, via provenance."""
    out = []
    for b in range(len(gen)):
        p = gen.provenance(b, epoch=epoch)
        out.extend(zip(p["source_id"], p["source_row"]))
    return out


def _epoch_x(gen, epoch):
    gen.set_epoch(epoch)
    return np.concatenate([gen[i][0] for i in range(len(gen))])


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_row_exactly_once_per_epoch(dataset, sources, shuffle):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=500, shuffle=shuffle, seed=3,
                        memory_budget="1MiB")
    assert gen.source.plan.window_rows < ROWS, "several windows, so shuffling crosses window boundaries"
    assert len(gen) == -(-ROWS // 500) and gen.num_rows == ROWS
    ids = _ids(gen, epoch=0)
    assert len(ids) == ROWS and len(set(ids)) == ROWS
    x = _epoch_x(gen, 0)
    assert x.shape == (ROWS, 4) and x.dtype == np.float32
    every = np.concatenate([df[FEATURES].to_numpy(np.float32) for df in sources.values()])
    assert np.array_equal(np.unique(x, axis=0), np.unique(every, axis=0))  # the same rows as the sources
    assert len(np.unique(x, axis=0)) == len(np.unique(every, axis=0)) == ROWS
    last = gen[len(gen) - 1]
    assert len(last[0]) == ROWS - 500 * (len(gen) - 1)


def test_unshuffled_keeps_manifest_order(dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=1000)
    m = read_manifest(dataset)
    prov = gen.provenance(0)
    assert (prov["shard"] == m.shards[0].path).all() and list(prov["shard_row"]) == list(range(1000))
    assert (prov["month"] == 1).all()


def test_where_and_drop_remainder(dataset):
    m = read_manifest(dataset)
    q4 = sum(s.rows for s in m.shards if s.group["month"] > 9)
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=256, shuffle=True, seed=1, where="month > 9",
                        drop_remainder=True)
    assert gen.num_rows == q4 and len(gen) == q4 // 256
    ids = _ids(gen, epoch=4)
    assert len(ids) == len(set(ids)) == (q4 // 256) * 256
    months = set()
    for b in range(len(gen)):
        months |= set(gen.provenance(b, epoch=4)["month"])
    assert months == {10, 11, 12}
    same = DataGenerator(dataset, FEATURES, batch_size=256, where={"month": [10, 11, 12]})
    assert same.num_rows == q4


def test_seed_reproducible_and_epochs_differ(dataset):
    a = DataGenerator(dataset, FEATURES, label="label", batch_size=512, shuffle=True, seed=11, memory_budget="1MiB")
    b = DataGenerator(dataset, FEATURES, label="label", batch_size=512, shuffle=True, seed=11, memory_budget="1MiB")
    c = DataGenerator(dataset, FEATURES, label="label", batch_size=512, shuffle=True, seed=12, memory_budget="1MiB")
    e0, e1 = _epoch_x(a, 0), _epoch_x(a, 1)
    assert np.array_equal(e0, _epoch_x(b, 0)) and np.array_equal(e1, _epoch_x(b, 1))
    assert not np.array_equal(e0, e1) and not np.array_equal(e0, _epoch_x(c, 0))
    assert np.array_equal(np.sort(e0[:, 0]), np.sort(e1[:, 0]))
    # shuffling mixes shards inside a batch, not only batch order
    assert a.provenance(0, epoch=0)["month"].nunique() >= 3
    # any call order gives the same batch
    a.set_epoch(1)
    backwards = [a[i][0] for i in reversed(range(len(a)))][::-1]
    assert np.array_equal(np.concatenate(backwards), e1)


def test_threads_and_processes_give_the_same_batches(dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=700, shuffle=True, seed=2, memory_budget="1MiB")
    gen.set_epoch(3)
    expected = [gen[i] for i in range(len(gen))]
    fresh = DataGenerator.from_config(gen.config)
    fresh.set_epoch(3)
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda i: fresh[i], reversed(range(len(gen)))))[::-1]
    clone = pickle.loads(pickle.dumps(gen))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        processed = pool.map(clone.__getitem__, range(len(gen)))
    for (x, y), (tx, ty), (px, py) in zip(expected, threaded, processed):
        assert np.array_equal(x, tx) and np.array_equal(y, ty)
        assert np.array_equal(x, px) and np.array_equal(y, py)


def test_dict_features_with_strings_and_group_columns(dataset, sources):
    gen = DataGenerator(dataset, {"num": ["f0", "f1"], "cat": ["category"], "when": ["month"]}, label="label",
                        batch_size=300, shuffle=True, seed=4)
    x, y = gen[2]
    assert set(x) == {"num", "cat", "when"}
    assert x["num"].shape == (300, 2) and x["num"].dtype == np.float32
    assert x["cat"].shape == (300, 1) and x["cat"].dtype == object and isinstance(x["cat"][0, 0], str)
    truth = source_rows(sources, gen.provenance(2))
    assert list(x["cat"][:, 0]) == list(truth["category"])
    assert np.array_equal(x["when"][:, 0], gen.provenance(2)["month"].to_numpy(np.float32))
    import keras

    lookup = keras.layers.StringLookup(vocabulary=["alpha", "beta", "gamma", "delta", "epsilon"])
    assert lookup(x["cat"]).shape == (300, 1)


def test_labels_one_hot_weights_and_inputs_only(dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", num_classes=2, sample_weight="f3", batch_size=100)
    x, y, w = gen[0]
    assert y.shape == (100, 2) and np.allclose(y.sum(axis=1), 1) and w.shape == (100,)
    assert np.array_equal(w, x[:, 3])
    only = DataGenerator(dataset, FEATURES, batch_size=100)
    assert len(only[0]) == 1 and only[0][0].shape == (100, 4)
    doubled = DataGenerator(dataset, FEATURES, label="label", batch_size=100, transform=lambda b: (b[0] * 2, b[1]))
    assert np.array_equal(doubled[0][0], gen[0][0] * 2)


def test_where_pruned_shards_are_never_opened(dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    m = read_manifest(copy)
    for s in m.shards:
        if s.group["month"] > 2:
            (copy / s.path).unlink()  # if any of these were opened, reading would fail
    gen = DataGenerator(copy, FEATURES, label="label", batch_size=128, shuffle=True, where="month in (1, 2)")
    total = sum(len(gen[i][0]) for i in range(len(gen)))
    assert total == sum(s.rows for s in m.shards if s.group["month"] <= 2)
    with pytest.raises(ShardError, match=r"month=03/part-00000-[0-9a-f]{16}.parquet' is missing"):
        DataGenerator(copy, FEATURES, where="month <= 3")


def test_decoded_memory_stays_within_budget(dataset):
    budget = 256 << 10
    with pytest.warns(UserWarning, match="one row group per shuffle window"):
        gen = DataGenerator(dataset, FEATURES, label="label", batch_size=64, shuffle=True, memory_budget=budget)
    peak = 0
    for i in range(len(gen)):
        gen[i]
        cached = sum(a.nbytes for data in gen.source.windows._cache.values() for a in data.values())
        peak = max(peak, cached)
    assert 0 < peak <= budget


def test_errors_are_clear(dataset, tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        DataGenerator(tmp_path / "none", FEATURES)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="not a finished dataset"):
        DataGenerator(tmp_path / "empty", FEATURES)
    with pytest.raises(ColumnError, match="feature column 'nope' is not in the dataset"):
        DataGenerator(dataset, ["f0", "nope"])
    with pytest.raises(ColumnError, match="'category' has type string"):
        DataGenerator(dataset, ["f0", "category"])
    with pytest.raises(ColumnError, match="label column 'y'"):
        DataGenerator(dataset, FEATURES, label="y")
    with pytest.raises(FilterError, match="matches none of the 12 shards"):
        DataGenerator(dataset, FEATURES, where="month > 12")
    with pytest.raises(FilterError, match="unknown column 'day'"):
        DataGenerator(dataset, FEATURES, where="day == 1")
    with pytest.raises(ConfigError, match="batch_size"):
        DataGenerator(dataset, FEATURES, batch_size=0)
    with pytest.raises(ConfigError, match="too small"):
        DataGenerator(dataset, {f"in{i}": FEATURES for i in range(30)}, memory_budget="1MiB")
    with pytest.raises(IndexError):
        DataGenerator(dataset, FEATURES, batch_size=1000)[12]


def test_changed_shards_are_caught(dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    m = read_manifest(copy)
    victim = copy / m.shards[0].path
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    DataGenerator(copy, FEATURES)  # same size: the cheap check passes
    with pytest.raises(ShardError, match=r"month=01/part-00000-[0-9a-f]{16}.parquet' changed: sha256"):
        DataGenerator(copy, FEATURES, verify="sha256")
    victim.write_bytes(bytes(data) + b"x")
    with pytest.raises(ShardError, match="changed: .* bytes, manifest says"):
        DataGenerator(copy, FEATURES)
    # a shard that changes after the generator was built is caught when it is opened
    ok = copy / m.shards[1].path
    gen = DataGenerator(copy, FEATURES, where="month == 2")
    ok.write_bytes(ok.read_bytes() + b"x")
    with pytest.raises(ShardError, match="month=02"):
        gen[0]
