"""A Keras model that records the inputs of every batch it trains on (``model.seen``), for tests that check
which batches ``model.fit`` trained."""

import keras
import numpy as np


class Recorder(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, activation="sigmoid")
        self.seen = []

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        self.seen.append(np.array(data[0]))
        return super().train_step(data)
