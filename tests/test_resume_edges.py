"""Resume at its edges (found by a hostile tester): a kill between the weights' save and the state's,
fits after a resumed epoch, as_tf_dataset with restore and set_epoch, checkpoint paths, and
``datagen provenance --state`` (checked like restore, no option flags, no Keras)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from cli_checks import datagen_cli, fails
from datagen import DataGenerator
from datagen.contract.errors import ConfigError
from datagen.reader.resume import write_state
from gen_fixtures import FEATURES, source_rows

CHILD = Path(__file__).with_name("resume_fit_child.py")
OPTS = dict(label="label", batch_size=400, shuffle=True, seed=11, memory_budget="1MiB")  # as the child


def _model():
    model = keras.Sequential([keras.Input((len(FEATURES),)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    return model


class Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_epoch_begin(self, epoch, logs=None):
        self.steps.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps[-1] += 1


def _child(dataset, work, log, kill_between=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("KILL_BETWEEN", None)
    if kill_between:
        env["KILL_BETWEEN"] = str(kill_between)
    return subprocess.run([sys.executable, str(CHILD), str(dataset), str(work), "3", "7", "0", str(log)],
                          capture_output=True, text=True, env=env, timeout=900)


def test_sigkill_between_the_weights_and_the_state_resumes_at_the_state(dataset, sources, tmp_path):
    """save_freq=7 over 30-batch epochs: the save after 35 batches is the first of epoch 1. Killed after
    the weights (BackupAndRestore: epoch 1) and before the state (still epoch 0 step 28), the rerun
    resumes at the state, training batches 28-29 of epoch 0 again instead of refusing forever."""
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    n = len(gen)
    assert n == 30
    order = [(e, b) for e in range(3) for b in range(n)]
    first = _child(dataset, tmp_path, tmp_path / "run0.log", kill_between=35)
    assert first.returncode == -9, first.stderr[-2000:]
    trained = [json.loads(line) for line in (tmp_path / "run0.log").read_text().splitlines()]
    assert [(r["epoch"], r["step"] - 1) for r in trained] == order[:34]
    backup = tmp_path / "backup"
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1
    state = json.loads((backup / "datagen_state.json").read_text())
    assert (state["epoch"], state["step"]) == (0, 28)
    again = _child(dataset, tmp_path, tmp_path / "run1.log")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "killed between the two saves" in again.stderr
    trained = [json.loads(line) for line in (tmp_path / "run1.log").read_text().splitlines()]
    assert [(r["epoch"], r["step"] - 1) for r in trained] == order[28:]
    for r, (e, b) in list(zip(trained, order[28:]))[:4]:
        want = source_rows(sources, gen.provenance(b, e))[FEATURES].to_numpy(np.float32)
        np.testing.assert_array_equal(np.asarray(r["x"], np.float32), want)


def test_after_the_resumed_epoch_every_fit_gets_whole_epochs(dataset):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    n = len(gen)
    gen.restore(dict(gen.state(), epoch=0, step=4))
    first = Count()
    _model().fit(gen, epochs=1, initial_epoch=0, shuffle=False, verbose=0, callbacks=[gen.callback, first])
    assert first.steps == [n - 4] and len(gen) == n
    assert (gen.state()["epoch"], gen.state()["step"]) == (1, 0)
    later = Count()
    model = _model()
    model.fit(gen, epochs=3, initial_epoch=1, shuffle=False, verbose=0, callbacks=[gen.callback, later])
    assert later.steps == [n, n]
    assert len(model.predict(gen, verbose=0)) == gen.num_rows


def test_a_fit_stopped_inside_the_resumed_epoch_keeps_the_resume(dataset):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    n = len(gen)
    gen.restore(dict(gen.state(), epoch=2, step=5))
    count = Count()
    _model().fit(gen, epochs=3, initial_epoch=2, steps_per_epoch=3, shuffle=False, verbose=0,
                 callbacks=[gen.callback, count])
    assert count.steps == [3] and gen.state()["step"] == 8 and len(gen) == n - 5


def test_as_tf_dataset_and_restore(dataset):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    gen.as_tf_dataset()
    with pytest.raises(ConfigError, match="already made a tf.data dataset"):
        gen.restore(dict(gen.state(), epoch=1, step=5))
    gen.restore(dict(gen.state(), epoch=1, step=0))  # an epoch's start: the tf dataset serves it whole
    fresh = DataGenerator(dataset, FEATURES, **OPTS)
    fresh.restore(dict(fresh.state(), epoch=1, step=5))
    with pytest.raises(ConfigError, match="restored mid-epoch and is at step 5 of epoch 1"):
        fresh.as_tf_dataset()
    at_start = DataGenerator(dataset, FEATURES, **OPTS)
    at_start.restore(dict(at_start.state(), epoch=2, step=0))
    whole = DataGenerator(dataset, FEATURES, **OPTS)
    whole.set_epoch(2)
    x, y = next(iter(at_start.as_tf_dataset()))
    np.testing.assert_array_equal(x.numpy(), whole[0][0])


def test_as_tf_dataset_follows_set_epoch(dataset):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    ds = gen.as_tf_dataset()
    gen.set_epoch(3)
    x, _ = next(iter(ds))
    np.testing.assert_array_equal(x.numpy(), gen[0][0])
    gen.set_epoch(0)
    assert not np.array_equal(x.numpy(), gen[0][0])


def test_checkpoint_paths_are_checked_when_made(dataset, tmp_path):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    with pytest.raises(ConfigError, match="is a directory"):
        gen.checkpoint(tmp_path)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="is not a directory"):
        gen.checkpoint(tmp_path / "afile" / "deeper" / "state.json")
    cb = gen.checkpoint(tmp_path / "new" / "dir" / "state.json")   # the directory is made now, and tried
    assert (tmp_path / "new" / "dir").is_dir() and list((tmp_path / "new" / "dir").iterdir()) == []
    assert os.path.isabs(cb.path)
    with pytest.raises(ConfigError, match=r"cannot write in '/proc/nope'") as err:   # not at the first save
        gen.checkpoint("/proc/nope/x.json")
    assert "\n" not in str(err.value)


def test_restore_ignores_options_that_do_not_change_batches(dataset):
    state = DataGenerator(dataset, FEATURES, verify="size", **OPTS).state()
    other = DataGenerator(dataset, FEATURES, verify="sha256", **OPTS)
    other.restore(dict(state, step=3))
    assert other.state()["step"] == 3


def test_state_files_that_are_not_states(dataset, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="not JSON"):
        DataGenerator(dataset, FEATURES, **OPTS).restore(str(deep))
    fails(datagen_cli("provenance", dataset, "--state", deep, "--step", "0"), 2, "not JSON")
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    with pytest.raises(ConfigError, match="version '1', this generator reads version"):
        gen.restore(dict(gen.state(), manifest_version="1"))


def test_cli_provenance_state_refuses_flags_and_edits(dataset, tmp_path):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    path = tmp_path / "state.json"
    write_state(str(path), dict(gen.state(), epoch=1, step=4))
    for flag, value in (("--seed", "9"), ("--batch-size", "5"), ("--where", "month <= 3"), ("--version", "1"),
                        ("--replica", "0")):
        fails(datagen_cli("provenance", dataset, "--state", path, "--step", "4", flag, value), 2, flag,
              "cannot be given with --state")
    fails(datagen_cli("provenance", dataset, "--state", path, "--step", "4", "--no-shuffle"), 2, "--shuffle")
    edited = json.loads(path.read_text())
    edited["config"]["seed"] = 9
    path.write_text(json.dumps(edited))
    fails(datagen_cli("provenance", dataset, "--state", path, "--step", "4"), 2, "config_sha256", "edited")
    r = datagen_cli("provenance", dataset, "--features", ",".join(FEATURES), "--batch-size", "400", "--step",
                    str(n := len(gen)))
    fails(r, 2, "out of range", f"valid 0..{n - 1}")


def test_cli_provenance_of_a_replica_from_flags(dataset):
    gen = DataGenerator(dataset, FEATURES, num_replicas=3, replica=2, replica_tail="drop", **OPTS)
    flags = ["--features", ",".join(FEATURES), "--label", "label", "--batch-size", "400", "--shuffle", "--seed", "11",
             "--memory-budget", "1MiB", "--num-replicas", "3", "--replica", "2", "--replica-tail", "drop"]
    r = datagen_cli("provenance", dataset, *flags, "--epoch", "1", "--step", "3", "--format", "json")
    assert r.exit_code == 0, r.output
    want = gen.provenance(3, 1).reset_index()
    assert [(x["source"], x["source_row"]) for x in json.loads(r.output)] == \
        list(zip(want["source"], want["source_row"]))


def test_cli_provenance_from_a_state_does_not_load_keras(dataset, tmp_path):
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    path = tmp_path / "state.json"
    write_state(str(path), dict(gen.state(), epoch=1, step=4))
    code = ("import sys\nfrom click.testing import CliRunner\nfrom datagen.app.cli import main\n"
            f"r = CliRunner().invoke(main, ['provenance', {str(dataset)!r}, '--state', {str(path)!r}, '--step', '4'])\n"
            "assert r.exit_code == 0, r.output\nprint(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
