"""Mid-epoch resume: gen.state()/restore(), gen.checkpoint next to BackupAndRestore, a real SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

from datagen import DataGenerator
from datagen.contract.errors import ConfigError
from gen_fixtures import FEATURES, source_rows

CHILD = Path(__file__).with_name("resume_fit_child.py")
OPTS = dict(label="label", batch_size=400, shuffle=True, seed=11, memory_budget="1MiB")  # as the child


class Recorder(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, activation="sigmoid")
        self.seen, self.epoch = [], None

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        self.seen.append((self.epoch, np.array(data[0])))
        return super().train_step(data)


class EpochMark(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.model.epoch = epoch


def expected_x(gen, sources, epoch, batch):
    """What batch ``batch`` of the uninterrupted ``epoch`` holds, from provenance and the source files."""
    return source_rows(sources, gen.provenance(batch, epoch))[FEATURES].to_numpy(np.float32)


def fit(gen, epochs, initial_epoch=0, callbacks=None):
    model = Recorder()
    model.compile("sgd", "binary_crossentropy", run_eagerly=True)
    model.fit(gen, epochs=epochs, initial_epoch=initial_epoch, shuffle=False, verbose=0,
              callbacks=[EpochMark()] + (callbacks if callbacks is not None else [gen.callback]))
    return model.seen


def test_restore_serves_the_rest_of_the_epoch_then_full_epochs(dataset, sources):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    n = len(gen)
    state = dict(gen.state(), epoch=1, step=7)
    fresh = DataGenerator(dataset, FEATURES, **OPTS)
    fresh.restore(state)
    assert len(fresh) == n - 7 and fresh.num_batches == n  # Keras fixes every epoch's steps from this at fit start
    np.testing.assert_array_equal(fresh[0][0], expected_x(gen, sources, 1, 7))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seen = fit(fresh, epochs=3, initial_epoch=1)
    assert not [w for w in caught if "ran out of data" in str(w.message)]
    assert [e for e, _ in seen] == [1] * (n - 7) + [2] * n
    want = [expected_x(gen, sources, 1, b) for b in range(7, n)] + [expected_x(gen, sources, 2, b) for b in range(n)]
    for (_, x), w in zip(seen, want):
        np.testing.assert_array_equal(x, w)
    assert fresh.state()["epoch"] == 3 and fresh.state()["step"] == 0 and len(fresh) == n


def test_state_counts_trained_batches_not_prefetched(dataset):
    gen = DataGenerator(dataset, FEATURES, workers=3, max_queue_size=8, **OPTS)
    steps = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            s = gen.state()
            steps.append((s["epoch"], s["step"]))

    fit(gen, epochs=2, callbacks=[gen.callback, Probe()])
    n = len(gen)
    # after an epoch's last batch the position is the next epoch's start
    assert steps == [(e, b) if b < n else (e + 1, 0) for e in range(2) for b in range(1, n + 1)]
    json.dumps(gen.state())  # JSON-able
    assert gen.state()["epoch"] == 2 and gen.state()["step"] == 0


def test_fit_must_start_at_the_restored_epoch_with_the_callback(dataset):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    state = dict(gen.state(), epoch=1, step=3)
    fresh = DataGenerator(dataset, FEATURES, **OPTS)
    fresh.restore(state)
    with pytest.raises(ConfigError, match="initial_epoch=1"):
        fit(fresh, epochs=2, initial_epoch=0)
    fresh = DataGenerator(dataset, FEATURES, **OPTS)
    fresh.restore(state)
    with pytest.raises(ConfigError, match="gen.callback"):
        fit(fresh, epochs=2, initial_epoch=1, callbacks=[])


@pytest.mark.parametrize("change, named", [
    (dict(seed=12), "seed=11"), (dict(batch_size=300), "batch_size=400"), (dict(shuffle=False), "shuffle=True"),
    (dict(where="month <= 6"), "where=None"), (dict(num_replicas=2), "num_replicas=1"),
])
def test_restore_refuses_other_settings_naming_the_difference(dataset, change, named):
    state = DataGenerator(dataset, FEATURES, **OPTS).state()
    other = DataGenerator(dataset, FEATURES, **{**OPTS, **change})
    with pytest.raises(ConfigError) as info:
        other.restore(state)
    assert named in str(info.value) and "\n" not in str(info.value)


def test_restore_refuses_another_dataset_and_bad_states(dataset, tmp_path):
    import shutil

    state = DataGenerator(dataset, FEATURES, **OPTS).state()
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=3))  # same data, other manifest bytes
    other = DataGenerator(copy, FEATURES, **OPTS)
    with pytest.raises(ConfigError, match="another dataset"):
        other.restore(state)
    for bad in ({}, {"format": "x"}, dict(state, step=-1), dict(state, epoch=True), dict(state, step=10**6), 3):
        with pytest.raises(ConfigError):
            DataGenerator(dataset, FEATURES, **OPTS).restore(bad)
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        DataGenerator(dataset, FEATURES, **OPTS).restore(str(tmp_path / "s.json"))


def _run_child(dataset, work, log, epochs, save_freq, kill_at):
    return subprocess.Popen([sys.executable, str(CHILD), str(dataset), str(work), str(epochs), str(save_freq),
                             str(kill_at), str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def _read_log(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_sigkill_mid_epoch_then_resume_trains_exactly_the_uninterrupted_epochs(dataset, sources, tmp_path):
    """Killed after 40 trained batches (epoch 1, step 10) with saves every 7: the last checkpoint is at 35
    (epoch 1 step 5); the resumed run trains epoch 1's batches 5.. then epoch 2, in order. Batches 35..39
    trained after the last checkpoint are trained again: the guarantee is relative to the checkpointed step."""
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    n, epochs, save_freq, kill_at = len(gen), 3, 7, 40
    first = _run_child(dataset, tmp_path, tmp_path / "a.log", epochs, save_freq, kill_at)
    deadline = time.monotonic() + 600
    while not (tmp_path / "a.log.ready").exists():
        assert first.poll() is None, first.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "child did not reach the kill point"
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    state = json.loads((tmp_path / "backup" / "datagen_state.json").read_text())
    saved = kill_at // save_freq * save_freq
    assert (state["epoch"], state["step"]) == divmod(saved, n)
    second = _run_child(dataset, tmp_path, tmp_path / "b.log", epochs, save_freq, 0)
    out, err = second.communicate(timeout=900)
    assert second.returncode == 0, err[-3000:]
    before, after = _read_log(tmp_path / "a.log"), _read_log(tmp_path / "b.log")
    assert len(before) == kill_at and len(after) == epochs * n - saved
    order = [(e, b) for e in range(epochs) for b in range(n)]
    assert [(r["epoch"], r["step"] - 1) for r in before] == order[:kill_at]
    assert [(r["epoch"], r["step"] - 1) for r in after] == order[saved:]
    trained = before[:saved] + after  # the re-trained batches saved..kill_at-1 counted once, from the resumed run
    assert len(trained) == len(order)
    for r, (e, b) in zip(trained, order):
        np.testing.assert_array_equal(np.asarray(r["x"], np.float32), expected_x(gen, sources, e, b))
    for r, again in zip(before[saved:], after):  # what the kill lost is exactly what the resume re-trained first
        assert r["x"] == again["x"]
