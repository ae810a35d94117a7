"""Run by test_generator_safety.py in a subprocess (so a hang becomes a timeout, not a stuck CI):
model.fit over a DataGenerator with worker processes; prints, per epoch, the ids each step trained on.

usage: python mp_fit_child.py DATASET EPOCHS WORKERS
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from datagen import DataGenerator  # noqa: E402


class Recorder(keras.Model):
    """Keeps the first input column (the row id) of every batch it trains on, per epoch."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, activation="sigmoid")
        self.seen: dict[int, list[list[int]]] = {}
        self.epoch = None

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, _ = data
        self.seen.setdefault(self.epoch, []).append(np.asarray(x)[:, 0].astype(np.int64).tolist())
        return super().train_step(data)


class EpochMark(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.model.epoch = epoch


def main(directory: str, epochs: int, workers: int) -> None:
    gen = DataGenerator(directory, ["id", "f0"], label="label", batch_size=500, shuffle=True, seed=3,
                        workers=workers, use_multiprocessing=True, memory_budget="1MiB")
    gen[0]  # decode once in the parent first: the reader pools and caches exist before Keras forks
    model = Recorder()
    model.compile("sgd", "binary_crossentropy", run_eagerly=True)
    model.fit(gen, epochs=epochs, shuffle=False, verbose=0, callbacks=[EpochMark()])
    # what the parent's own generator says each batch of each epoch holds
    expected = {e: [gen.source.batch(b, e)[0][:, 0].astype(np.int64).tolist() for b in range(len(gen))]
                for e in range(epochs)}
    print(json.dumps({"seen": model.seen, "expected": expected}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
