"""The Keras callback that keeps a generator in step with ``model.fit`` (``gen.callback``).

It tells the generator when fit starts, which epoch begins, which batch finished training and when an
epoch (and fit) ends; ``gen.checkpoint``'s ``StateCheckpoint`` extends it to also write the state.
"""

from __future__ import annotations

import keras


class EpochCallback(keras.callbacks.Callback):
    """Tells its generator which epoch model.fit is starting."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def on_train_begin(self, logs=None):
        self.generator._train_begin_from_fit(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self.generator._begin_epoch_from_fit(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self.generator._batch_end_from_fit(batch)

    def on_epoch_end(self, epoch, logs=None):
        self.generator._end_epoch_from_fit(epoch)

    def on_train_end(self, logs=None):
        self.generator._end_epoch_from_fit(None)
