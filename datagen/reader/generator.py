"""``DataGenerator``: a ``keras.utils.PyDataset`` over a split dataset, with provenance.

Which epoch is it? ``__getitem__(i)`` depends on the epoch when shuffling, and
must agree with model.fit's own epoch numbers. Two mechanisms, both race-free:

* ``callbacks=[gen.callback]`` (recommended, exact): the callback's
  ``on_epoch_begin(epoch)`` runs before Keras starts fetching that epoch's
  batches, so fit's own number (``initial_epoch`` included) is used.
* without it, the generator counts: Keras calls ``on_epoch_end`` once when fit
  starts and after every epoch, always after its workers have stopped, so the
  generator advances there to "number of epochs begun so far". For a single
  ``fit`` from epoch 0 this equals fit's numbering.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any

import keras

from . import forksafe
from .batches import BatchSource
from datagen.contract.errors import ConfigError
from .options import (OPTIONS_DOC, RUNTIME_KEYS, GeneratorOptions, RuntimeOptions, generator_signature,
                      load_config_file, options_from_config)
from .plan import check_batch_index, check_epoch

GENERATOR_SIGNATURE = generator_signature()


class EpochCallback(keras.callbacks.Callback):
    """Tells its generator which epoch model.fit is starting."""

    def __init__(self, generator: "DataGenerator"):
        super().__init__()
        self.generator = generator

    def on_epoch_begin(self, epoch, logs=None):
        self.generator._begin_epoch_from_fit(epoch)


class DataGenerator(keras.utils.PyDataset):
    __doc__ = ("Labelled batches from the shards of ``directory`` for ``model.fit``.\n\n"
               "    ``DataGenerator(directory, features, **options)``: the options are the fields of\n"
               "    ``GeneratorOptions`` (what determines the batches) and ``RuntimeOptions`` (how they are\n"
               "    delivered), with their defaults; see the signature.\n\n" + OPTIONS_DOC)

    def __init__(self, directory, features, **options):
        GENERATOR_SIGNATURE.bind(self, directory, features, **options)  # a TypeError names a wrong keyword
        runtime = RuntimeOptions(**{k: options.pop(k) for k in RUNTIME_KEYS if k in options})
        super().__init__(workers=runtime.workers, use_multiprocessing=runtime.use_multiprocessing,
                         max_queue_size=runtime.max_queue_size)
        self.source = BatchSource(GeneratorOptions(directory, features, **options), transform=runtime.transform)
        self.epoch = 0
        self._epochs_begun = 0
        self._synced_by_fit = False
        self._epoch_lock = threading.Lock()
        self._callback = None
        forksafe.register(self)

    __init__.__signature__ = GENERATOR_SIGNATURE

    @classmethod
    def from_config(cls, config: dict | str, **overrides) -> "DataGenerator":
        """Build from ``gen.config`` (a dict) or a JSON/YAML file holding it; ``overrides`` are options
        (runtime ones such as ``transform`` or ``workers`` included)."""
        if isinstance(config, (str, os.PathLike)):
            data = load_config_file(config)
        elif isinstance(config, dict):
            data = dict(config)
        else:
            raise ConfigError(f"config: expected gen.config (a dict) or a JSON/YAML file, got {type(config).__name__}")
        runtime = {k: overrides.pop(k) for k in RUNTIME_KEYS if k in overrides}
        options = dataclasses.asdict(options_from_config(data, **overrides))
        return cls(options.pop("directory"), options.pop("features"), **options, **runtime)

    # -- Keras protocol ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int):
        i = check_batch_index(index)
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"batch index {i} out of range: this generator has {n} batches "
                             f"(valid indices 0..{n - 1}, or -{n}..-1 from the end)")
        return self.source.batch(i + n if i < 0 else i, self.epoch)

    def on_epoch_begin(self):
        with self._epoch_lock:
            self._epochs_begun += 1

    def on_epoch_end(self):
        with self._epoch_lock:
            if not self._synced_by_fit:
                self.epoch = self._epochs_begun

    # -- epochs -----------------------------------------------------------------------------------
    @property
    def callback(self) -> keras.callbacks.Callback:
        """Pass to ``model.fit(callbacks=[...])`` so batches follow fit's own epoch numbers."""
        if self._callback is None:
            self._callback = EpochCallback(self)
        return self._callback

    def _begin_epoch_from_fit(self, epoch: int) -> None:
        with self._epoch_lock:
            self._synced_by_fit = True
            self.epoch = int(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Use the batches of ``epoch`` from now on (for custom training loops)."""
        epoch = check_epoch(epoch)
        with self._epoch_lock:
            self.epoch = epoch

    def as_tf_dataset(self, first_epoch: int = 0):
        """The batches of ``self[i]``, element for element, as a ``tf.data.Dataset`` (TensorFlow backend
        only; faster in ``model.fit``). Pass ``callbacks=[gen.callback]`` so each pass uses fit's epoch;
        see reader/tfdata.py."""
        from .tfdata import as_tf_dataset

        return as_tf_dataset(self, first_epoch)

    # -- provenance and config --------------------------------------------------------------------
    def provenance(self, batch: int, epoch: int | None = None):
        """The source rows of batch ``batch`` of ``epoch`` (default: the current epoch), as a DataFrame."""
        batch = check_batch_index(batch)
        return self.source.provenance(batch, self.epoch if epoch is None else check_epoch(epoch))

    @property
    def config(self) -> dict[str, Any]:
        """JSON-serialisable: everything that determines the batches."""
        return self.source.config

    @property
    def num_rows(self) -> int:
        return self.source.num_rows

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_epoch_lock", None)
        state["_callback"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._epoch_lock = threading.Lock()
        forksafe.register(self)

    def _after_fork(self) -> None:
        self._epoch_lock = threading.Lock()  # another parent thread may have held it at the fork
