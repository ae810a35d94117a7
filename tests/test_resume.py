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
from hypothesis import given, settings, strategies as st
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


@pytest.mark.parametrize("save_freq, kills", [
    (7, [40, 10]),   # epoch 1 step 5, then killed again inside the resumed epoch (BackupAndRestore says epoch 0)
    (10, [65]),      # the last save lands on epoch 1's last batch: BackupAndRestore says 1, the state says 2 step 0
])
def test_sigkill_mid_epoch_then_resume_trains_exactly_the_uninterrupted_epochs(dataset, sources, tmp_path,
                                                                               save_freq, kills):
    """Each run is SIGKILLed after ``kill`` trained batches; the state file then holds the last save point
    (every ``save_freq`` batches counted from that run's start, as BackupAndRestore). Every run trains, in
    order, the uninterrupted epochs' batches from the checkpointed step on; batches trained after the last
    save and before the kill are trained again by the next run: the guarantee is relative to the checkpoint."""
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    n, epochs = len(gen), 3
    order = [(e, b) for e in range(epochs) for b in range(n)]
    start, runs = 0, []
    for i, kill_at in enumerate(kills + [0]):
        log = tmp_path / f"run{i}.log"
        child = _run_child(dataset, tmp_path, log, epochs, save_freq, kill_at)
        if kill_at:
            deadline = time.monotonic() + 600
            while not Path(f"{log}.ready").exists():
                assert child.poll() is None, child.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "child did not reach the kill point"
                time.sleep(0.2)
            child.send_signal(signal.SIGKILL)
            child.wait()
        else:
            err = child.communicate(timeout=900)[1]
            assert child.returncode == 0, err[-3000:]
        trained = _read_log(log)
        assert [(r["epoch"], r["step"] - 1) for r in trained] == order[start:start + (kill_at or len(order))]
        runs.append((start, trained))
        if kill_at:
            state = json.loads((tmp_path / "backup" / "datagen_state.json").read_text())
            start += kill_at // save_freq * save_freq
            assert (state["epoch"], state["step"]) == divmod(start, n)
    assert runs[-1][0] + len(runs[-1][1]) == len(order)
    for start, trained in runs:
        for r, (e, b) in zip(trained, order[start:]):
            np.testing.assert_array_equal(np.asarray(r["x"], np.float32), expected_x(gen, sources, e, b))


def test_cli_provenance_of_a_step_from_a_checkpoint_state(dataset, tmp_path):
    """``datagen provenance DIR --state FILE --epoch E --step S`` uses the generator config the checkpoint
    recorded (replica included) and the uninterrupted epoch's numbering; a changed dataset is refused."""
    import shutil

    from cli_checks import datagen_cli, fails

    gen = DataGenerator(dataset, FEATURES, num_replicas=2, replica=1, **OPTS)
    gen.restore(dict(gen.state(), epoch=1, step=4))
    path = tmp_path / "state.json"
    from datagen.reader.resume import write_state

    write_state(str(path), gen.state())
    r = datagen_cli("provenance", dataset, "--state", path, "--epoch", "1", "--step", "4", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    want = gen.provenance(4, 1).reset_index()
    assert [(x["source"], x["source_row"]) for x in rows] == list(zip(want["source"], want["source_row"]))
    assert gen.view.plan_batch(4) != 4  # replica 1's batch 4 is not the single-replica batch 4
    r = datagen_cli("provenance", dataset, "--state", path, "--step", "4", "--batch", "5")
    fails(r, 2, "--batch 5", "--step 4")
    r = datagen_cli("provenance", dataset, "--state", path, "--step", gen.view.per_replica)
    fails(r, 2, "out of range")
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    (copy / "manifest.json").write_text(json.dumps(json.loads((copy / "manifest.json").read_text()), indent=3))
    r = datagen_cli("provenance", copy, "--state", path, "--step", "4")
    fails(r, 1, "manifest_sha256")


def test_resume_under_a_tf_distribute_strategy(dataset):
    """With a distribution strategy Keras iterates the data once before fit starts (to build the model):
    those batches are discarded, and the resumed epoch still trains exactly its remaining steps."""
    import tensorflow as tf

    gen = DataGenerator(dataset, FEATURES, **OPTS)
    n = len(gen)
    gen.restore(dict(gen.state(), epoch=1, step=7))
    steps = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append((gen.state()["epoch"], gen.state()["step"]))

    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        model = keras.Sequential([keras.Input((len(FEATURES),)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile("sgd", "binary_crossentropy")
    model.fit(gen, epochs=3, initial_epoch=1, shuffle=False, verbose=0, callbacks=[gen.callback, Probe()])
    assert steps == [(1, b) for b in range(8, n)] + [(2, 0)] + [(2, b) for b in range(1, n)] + [(3, 0)]


@settings(deadline=None, max_examples=30)
@given(batch_size=st.sampled_from([250, 400, 999, 5000]), replicas=st.integers(1, 3), data=st.data())
def test_restored_batches_are_the_uninterrupted_tail_property(dataset, batch_size, replicas, data):
    """For any position: after restore, gen[i] is replica batch step+i of the uninterrupted epoch, len is
    what remains, provenance keeps the uninterrupted numbering, and state() round-trips."""
    opts = {**OPTS, "batch_size": batch_size}
    replica = data.draw(st.integers(0, replicas - 1))
    whole = DataGenerator(dataset, FEATURES, num_replicas=replicas, replica=replica, **opts)
    per = len(whole)
    epoch, step = data.draw(st.integers(0, 3)), data.draw(st.integers(0, per - 1))
    gen = DataGenerator(dataset, FEATURES, num_replicas=replicas, replica=replica, **opts)
    gen.restore(dict(whole.state(), epoch=epoch, step=step))
    assert len(gen) == per - step and gen.state()["step"] == step and gen.state()["epoch"] == epoch
    i = data.draw(st.integers(0, per - step - 1))
    whole.set_epoch(epoch)
    np.testing.assert_array_equal(gen[i][0], whole[step + i][0])
    np.testing.assert_array_equal(gen[-1][0], whole[per - 1][0])
    assert gen.provenance(step + i, epoch).equals(whole.provenance(step + i, epoch))
    with pytest.raises(IndexError):  # (indices up to per-1 are Keras's shape probing before fit begins the epoch)
        gen[per]


def test_checkpoint_every_epoch_and_bad_save_freq(dataset, tmp_path):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    path = tmp_path / "deep" / "state.json"
    written = []

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            written.append(json.loads(path.read_text())["epoch"])

    fit(gen, epochs=2, callbacks=[gen.checkpoint(path), Watch()])
    assert written == [1, 2] and [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary left
    for bad in (0, -3, 1.5, True, "batch", None):
        with pytest.raises(ConfigError, match="save_freq"):
            gen.checkpoint(path, save_freq=bad)


def test_weights_and_state_from_different_saves_are_refused(dataset, tmp_path):
    """BackupAndRestore says epoch 3, the generator state epoch 1 step 5: one of them is stale."""
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": 3, "batch": 0}))
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    gen.restore(dict(gen.state(), epoch=1, step=5))
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=5)
    model = keras.Sequential([keras.Input((len(FEATURES),)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    with pytest.raises(ConfigError, match="BackupAndRestore restored epoch 3 but gen.restore"):
        model.fit(gen, epochs=4, initial_epoch=1, shuffle=False, verbose=0, callbacks=[backup, gen.callback])
