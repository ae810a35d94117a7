"""Run by test_resume.py in a subprocess: model.fit over a DataGenerator with BackupAndRestore and
gen.checkpoint at the same save_freq; appends one JSON line per trained batch to LOG (epoch, step as
gen.state() counts it, and the feature rows the model trained on). With KILL_AT > 0 it stops after
that many trained batches, writes LOG.ready and waits to be SIGKILLed. With a state file present it
resumes from it (gen.restore, initial_epoch=state["epoch"]), as the README recipe does. With the
environment variable KILL_BETWEEN=K it SIGKILLs itself at the K-th trained batch between the weights'
save (BackupAndRestore) and the state's (gen.checkpoint), the window a pre-emption can hit.

usage: python resume_fit_child.py DATASET WORKDIR EPOCHS SAVE_FREQ KILL_AT LOG [REPLICAS REPLICA]
"""

import json
import os
import signal
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from datagen import DataGenerator  # noqa: E402

FEATURES = [f"f{i}" for i in range(4)]


class Recorder(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, activation="sigmoid")
        self.last_x = None

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        self.last_x = np.array(data[0])
        return super().train_step(data)


class Log(keras.callbacks.Callback):
    """After gen.checkpoint in callbacks: records what the step trained on; may stop for the kill."""

    def __init__(self, gen, path, kill_at):
        super().__init__()
        self.gen, self.path, self.kill_at, self.trained = gen, path, kill_at, 0

    def on_train_batch_end(self, batch, logs=None):
        s = self.gen.state()
        with open(self.path, "a") as f:
            f.write(json.dumps({"epoch": self.gen.epoch, "step": s["step"] if s["epoch"] == self.gen.epoch else
                                self.gen.view.per_replica, "x": self.model.last_x.tolist()}) + "\n")
        self.trained += 1
        if self.kill_at and self.trained == self.kill_at:
            open(self.path + ".ready", "w").close()
            while True:
                time.sleep(1)


class KillBetween(keras.callbacks.Callback):
    """Between BackupAndRestore and gen.checkpoint in callbacks: SIGKILL at the ``at``-th trained batch."""

    def __init__(self, at):
        super().__init__()
        self.at, self.trained = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.trained += 1
        if self.trained == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


def main(directory, workdir, epochs, save_freq, kill_at, log, replicas=1, replica=0):
    gen = DataGenerator(directory, FEATURES, label="label", batch_size=400, shuffle=True, seed=11,
                        memory_budget="1MiB", num_replicas=replicas, replica=replica)
    state_path = os.path.join(workdir, "backup", "datagen_state.json")
    initial_epoch = 0
    if os.path.exists(state_path):
        gen.restore(state_path)
        initial_epoch = gen.state()["epoch"]
    model = Recorder()
    model(np.zeros((1, len(FEATURES)), "float32"))  # built before BackupAndRestore loads weights
    model.compile("sgd", "binary_crossentropy", run_eagerly=True)
    backup = keras.callbacks.BackupAndRestore(os.path.join(workdir, "backup"), save_freq=save_freq)
    between = [KillBetween(int(os.environ["KILL_BETWEEN"]))] if os.environ.get("KILL_BETWEEN") else []
    callbacks = [backup, *between, gen.checkpoint(state_path, save_freq=save_freq), Log(gen, log, kill_at)]
    model.fit(gen, epochs=epochs, initial_epoch=initial_epoch, shuffle=False, verbose=0, callbacks=callbacks)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6],
         *map(int, sys.argv[7:9]))
