"""``gen.as_tf_dataset()``: element for element the batches of ``gen[i]`` (values, dtypes, shapes, the
last partial batch, drop_remainder, labels, sample weights, one-hot, dict inputs), epoch by epoch,
and inside a real ``model.fit`` with the epoch callback (initial_epoch included)."""

import copy

import keras
import numpy as np
import pytest

from datagen import DataGenerator
from datagen.contract.errors import ConfigError
from datagen.reader import tfdata
from gen_fixtures import FEATURES


def _same(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _same(a[k], b[k])
        return
    b = b.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def _check_epochs(gen, ds, epochs):
    for epoch in epochs:  # one pass per epoch, counted from first_epoch (no fit callback, no set_epoch on gen)
        got = list(ds)
        ref = copy.copy(gen)  # gen.set_epoch would pin the dataset's next pass to that epoch
        ref.set_epoch(epoch)
        assert len(got) == len(ref) == int(ds.cardinality())
        for i, batch in enumerate(got):
            expected = ref[i]
            assert len(batch) == len(expected)
            for a, b in zip(expected, batch):
                _same(a, b)


@pytest.mark.parametrize("drop_remainder", [False, True])
@pytest.mark.parametrize("batch_size", [700, 4096])
def test_batches_are_those_of_the_generator(dataset, monkeypatch, drop_remainder, batch_size):
    monkeypatch.setattr(tfdata, "CHUNK_ROWS", 3 * 700)  # runs of 3 batches: runs straddle windows too
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=batch_size, shuffle=True, seed=4,
                        memory_budget="1MiB", drop_remainder=drop_remainder)
    _check_epochs(gen, gen.as_tf_dataset(first_epoch=2), epochs=(2, 3))


def test_weights_one_hot_dict_inputs_and_no_shuffle(dataset, monkeypatch):
    monkeypatch.setattr(tfdata, "CHUNK_ROWS", 2048)
    gen = DataGenerator(dataset, {"a": FEATURES[:2], "b": FEATURES[2:]}, label="label", num_classes=2,
                        sample_weight="f0", batch_size=900, shuffle=False, memory_budget="1MiB")
    _check_epochs(gen, gen.as_tf_dataset(), epochs=(0, 1))
    plain = DataGenerator(dataset, FEATURES, batch_size=1000, shuffle=True, seed=1, memory_budget="1MiB")
    _check_epochs(plain, plain.as_tf_dataset(), epochs=(0,))


def test_no_autotune_thread_and_a_fixed_prefetch(dataset, monkeypatch):
    """The autotune thread made the end of a fit wait for up to its whole optimisation period (the
    iterator's destructor joins it; tfdata.py): the dataset runs without it, prefetching two runs."""
    monkeypatch.setattr(tfdata, "CHUNK_ROWS", 2000)
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=1000, shuffle=True, seed=2, memory_budget="1MiB")
    ds = gen.as_tf_dataset()
    assert ds.options().autotune.enabled is False
    assert "PrefetchDataset" in type(ds._input_dataset).__name__ and int(ds._input_dataset._buffer_size) == 4
    _check_epochs(gen, ds, epochs=(0,))


def test_fit_follows_the_epoch_callback(dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=1000, shuffle=True, seed=7,
                        memory_budget="1MiB")
    seen = []

    class Model(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1, activation="sigmoid")

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            seen.append((gen.epoch, np.array(data[0]), np.array(data[1])))
            return super().train_step(data)

    model = Model()
    model.compile("sgd", "binary_crossentropy", run_eagerly=True)
    model.fit(gen.as_tf_dataset(), epochs=3, initial_epoch=1, verbose=0, shuffle=False, callbacks=[gen.callback])
    assert len(seen) == 2 * len(gen)
    for k, (epoch, x, y) in enumerate(seen):
        assert epoch == 1 + k // len(gen)
        gen_x, gen_y = gen.source.batch(k % len(gen), epoch)
        np.testing.assert_array_equal(x, gen_x)
        np.testing.assert_array_equal(y, gen_y)


def test_refusals(dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", transform=lambda b: b)
    with pytest.raises(ConfigError, match="as_tf_dataset: this generator has a transform"):
        gen.as_tf_dataset()
    with pytest.raises(ConfigError, match="epoch"):
        DataGenerator(dataset, FEATURES, label="label").as_tf_dataset(first_epoch=-1)


def test_runs_stay_within_the_memory_budget(dataset):
    """Wide rows (one-hot labels of 2,000 classes: 8 KB a row) make runs of fewer batches: at most an eighth
    of memory_budget each (one batch at least), where a fixed 64k-row run would be 500 MB."""
    budget = 4 << 20
    gen = DataGenerator(dataset, FEATURES, label="label", num_classes=2000, batch_size=64, shuffle=True, seed=2,
                        memory_budget=budget)
    sizes = []
    run = gen.source.batch_run

    def recorded(first, stop, epoch=0):
        out = run(first, stop, epoch)
        sizes.append(sum(a.nbytes for a in out))
        return out

    gen.source.batch_run = recorded
    batches = list(gen.as_tf_dataset())
    assert len(batches) == len(gen) and max(sizes) <= budget // 8 and len(sizes) > 10
    np.testing.assert_array_equal(batches[-1][1].numpy(), gen[len(gen) - 1][1])
    assert tfdata.run_batches((np.zeros((64, 16), "float32"), np.zeros(64, "int8")), 64, 192 << 20) == 1024
