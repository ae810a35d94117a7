"""The Keras callbacks that keep a generator in step with ``model.fit``: ``gen.callback`` and ``gen.checkpoint``.

``EpochCallback`` tells the generator when fit starts, which epoch begins, which batch finished training
and when an epoch (and fit) ends. ``StateCheckpoint`` (``gen.checkpoint(path, save_freq=N)``) extends it
to write ``gen.state()`` (resume.py's ``write_state``: temporary file, fsync, rename) at exactly the
moments Keras 3.15's ``BackupAndRestore(save_freq=N)`` saves weights: every N trained batches counted
from the start of fit across epochs (not at epoch ends), or at each epoch end with ``save_freq="epoch"``.
Put it AFTER ``BackupAndRestore`` in ``callbacks``: at each save point the weights are written first, so
a kill between the two writes leaves the state one save behind the weights. On resume the state wins
(fitsync.py): those batches are trained again, never skipped.
"""

from __future__ import annotations

import keras

from .resume import check_save_freq, check_state_path, write_state


class EpochCallback(keras.callbacks.Callback):
    """Tells its generator which epoch model.fit is starting."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def on_train_begin(self, logs=None):
        self.generator._train_begin_from_fit(self.model, (self.params or {}).get("steps"))

    def on_epoch_begin(self, epoch, logs=None):
        self.generator._begin_epoch_from_fit(epoch, (self.params or {}).get("epochs"))

    def on_train_batch_end(self, batch, logs=None):
        self.generator._batch_end_from_fit(batch)

    def on_epoch_end(self, epoch, logs=None):
        self.generator._end_epoch_from_fit(epoch)

    def on_train_end(self, logs=None):
        self.generator._end_epoch_from_fit(None)


class StateCheckpoint(EpochCallback):
    """Writes ``gen.state()`` to ``path`` whenever ``BackupAndRestore(save_freq)`` saves; also does
    what ``gen.callback`` does (it extends it; passing both is harmless)."""

    def __init__(self, generator, path, save_freq="epoch"):
        super().__init__(generator)
        self.path = check_state_path(path)
        self.save_freq = check_save_freq(save_freq)
        self._since_save = 0     # mirrors BackupAndRestore._batches_seen_since_last_saving
        self._last_batch = 0     # mirrors BackupAndRestore._last_batch_seen

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.save_freq == "epoch":
            return
        self._since_save += batch + 1 if batch <= self._last_batch else batch - self._last_batch
        self._last_batch = batch
        if self._since_save >= self.save_freq:
            self._since_save = 0
            write_state(self.path, self.generator.state())

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self._last_batch = 0
        if self.save_freq == "epoch":
            write_state(self.path, self.generator.state())
