"""End to end through a real model.fit: what each training step received is what
provenance says, traced back to the original source files; and a model learns."""

import json

import keras
import numpy as np
import pytest

from datagen import DataGenerator
from gen_fixtures import FEATURES, source_rows


class Recorder(keras.Model):
    """A model whose train_step keeps a copy of every input batch it trains on."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, activation="sigmoid")
        self.seen = []          # (epoch, step, x, y)
        self.epoch = None

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        self.seen.append((self.epoch, sum(1 for e, *_ in self.seen if e == self.epoch), np.array(x), np.array(y)))
        return super().train_step(data)


class EpochMark(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.model.epoch = epoch


def _fit_and_check(gen, sources, epochs, use_callback, initial_epoch=0):
    model = Recorder()
    model.compile("sgd", "binary_crossentropy", run_eagerly=True)
    callbacks = [EpochMark()] + ([gen.callback] if use_callback else [])
    model.fit(gen, epochs=epochs, initial_epoch=initial_epoch, shuffle=False, verbose=0, callbacks=callbacks)
    per_epoch = {e: [s for s in model.seen if s[0] == e] for e in range(initial_epoch, epochs)}
    assert all(len(v) == len(gen) for v in per_epoch.values()), {e: len(v) for e, v in per_epoch.items()}
    first = {e: v[0][2] for e, v in per_epoch.items()}
    assert not np.array_equal(*list(first.values())[:2]), "shuffled epochs must differ"
    for epoch, rows in per_epoch.items():
        for step in (0, 3, len(gen) - 1):
            _, _, x, y = rows[step]
            prov = gen.provenance(step, epoch=epoch)
            truth = source_rows(sources, prov)
            assert len(prov) == len(x)
            np.testing.assert_array_equal(x, truth[FEATURES].to_numpy(np.float32))
            np.testing.assert_array_equal(y, truth["label"].to_numpy())


@pytest.mark.parametrize("workers", [1, 3])
def test_provenance_matches_what_fit_trained_on(dataset, sources, workers):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=400, shuffle=True, seed=9, workers=workers,
                        memory_budget="1MiB")
    _fit_and_check(gen, sources, epochs=2, use_callback=False)


def test_provenance_with_epoch_callback_and_initial_epoch(dataset, sources):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=400, shuffle=True, seed=9, workers=2)
    _fit_and_check(gen, sources, epochs=3, use_callback=True, initial_epoch=1)


def test_provenance_cli_matches_python(dataset, run_datagen, tmp_path):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=256, shuffle=True, seed=5, where="month <= 10")
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps(gen.config))
    expected = gen.provenance(7, epoch=2)
    r = run_datagen("provenance", dataset, "--batch", 7, "--epoch", 2, "--config", cfg, "--format", "json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.output)
    assert [g["source_row"] for g in got] == list(expected["source_row"])
    assert [g["shard"] for g in got] == list(expected["shard"])
    r = run_datagen("provenance", dataset, "--batch", 7, "--epoch", 2, "--features", ",".join(FEATURES),
                    "--label", "label", "--batch-size", 256, "--shuffle", "--seed", 5, "--where", "month <= 10",
                    "--format", "csv")
    assert r.exit_code == 0, r.stderr
    lines = r.output.strip().splitlines()
    assert lines[0].startswith("example,shard,shard_row,source_id,source,source_row,month") and len(lines) == 257
    r = run_datagen("provenance", dataset, "--batch", 7, "--config", cfg)
    assert r.exit_code == 0 and "batch 7 of epoch 0: 256 examples" in r.output
    r = run_datagen("provenance", dataset, "--batch", 9999, "--config", cfg)
    assert r.exit_code == 2 and "out of range" in r.stderr
    r = run_datagen("provenance", dataset, "--batch", 1)
    assert r.exit_code == 2 and "--config" in r.stderr


def test_a_small_model_learns(dataset):
    train = DataGenerator(dataset, FEATURES, label="label", batch_size=128, shuffle=True, seed=1, where="month <= 9")
    val = DataGenerator(dataset, FEATURES, label="label", batch_size=512, where="month > 9")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=4, shuffle=False, verbose=0, callbacks=[train.callback])
    loss = history.history["loss"]
    assert loss[-1] < 0.75 * loss[0], loss
    assert history.history["val_accuracy"][-1] > 0.8
