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

import operator
import os
import threading
from typing import Any, Callable

import keras

from . import forksafe
from .batches import BatchSource
from datagen.contract.errors import ConfigError
from .options import GeneratorOptions, load_config_file, options_from_config
from .plan import check_epoch


class EpochCallback(keras.callbacks.Callback):
    """Tells its generator which epoch model.fit is starting."""

    def __init__(self, generator: "DataGenerator"):
        super().__init__()
        self.generator = generator

    def on_epoch_begin(self, epoch, logs=None):
        self.generator._begin_epoch_from_fit(epoch)


class DataGenerator(keras.utils.PyDataset):
    """Labelled batches from the shards of ``directory`` for ``model.fit``.

    Args:
        directory: a dataset made by ``split-datasets`` (holds ``manifest.json``).
        features: numeric columns -> one float matrix (``dtype``); or ``{input: [columns]}`` -> a dict
            of arrays (text columns allowed there, returned as string arrays).
        label: label column, or None for inputs only (predict). Labels keep their values: int64 labels
            arrive as int64, float64/decimal labels as float64 (rules in ``datagen/outputs.py``).
        batch_size, shuffle, seed, drop_remainder: as usual; shuffling mixes rows across shards
            within windows of at most an eighth of ``memory_budget``.
        where: filter on group values (``"month <= 10"`` or ``{"month": [1, 2]}``); pruned shards
            are never opened.
        num_classes: one-hot encode an integer label. sample_weight: a weight column.
        memory_budget: bytes (or "192MB") the generator may hold: cached windows, the window being
            decoded in the background, and their buffers.
        verify: "size" (cheap check of each selected shard) or "sha256" (full re-hash).
        dtype: "float32" (default) or "float64": the feature matrix, numeric inputs and sample weights.
            Values round to the nearest representable value (integer columns beyond 2**24 for float32
            are announced by a warning at construction).
        transform: optional callable applied to each batch tuple.
        workers, use_multiprocessing, max_queue_size: passed to ``keras.utils.PyDataset``.
    """

    def __init__(self, directory, features, label=None, batch_size=1024, shuffle=False, seed=0, where=None,
                 num_classes=None, sample_weight=None, drop_remainder=False, memory_budget="192MB",
                 verify="size", transform: Callable | None = None, workers=1, use_multiprocessing=False,
                 max_queue_size=10, manifest_sha256=None, dtype="float32"):
        for key, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
        if not isinstance(use_multiprocessing, bool):
            raise ConfigError(f"use_multiprocessing: expected true or false, got {use_multiprocessing!r}")
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        options = GeneratorOptions(directory=directory, features=features, label=label, batch_size=batch_size,
                                   shuffle=shuffle, seed=seed, where=where, num_classes=num_classes,
                                   sample_weight=sample_weight, drop_remainder=drop_remainder,
                                   memory_budget=memory_budget, verify=verify, manifest_sha256=manifest_sha256,
                                   dtype=dtype)
        self.source = BatchSource(options, transform=transform)
        self.epoch = 0
        self._epochs_begun = 0
        self._synced_by_fit = False
        self._epoch_lock = threading.Lock()
        self._callback = None
        forksafe.register(self)

    @classmethod
    def from_config(cls, config: dict | str, **overrides) -> "DataGenerator":
        """Build from ``gen.config`` (a dict) or a JSON/YAML file holding it."""
        if isinstance(config, (str, os.PathLike)):
            data = load_config_file(config)
        elif isinstance(config, dict):
            data = dict(config)
        else:
            raise ConfigError(f"config: expected gen.config (a dict) or a JSON/YAML file, got {type(config).__name__}")
        runtime = {k: overrides.pop(k) for k in ("transform", "workers", "use_multiprocessing", "max_queue_size")
                   if k in overrides}
        o = options_from_config(data, **overrides)
        return cls(o.directory, o.features, label=o.label, batch_size=o.batch_size, shuffle=o.shuffle, seed=o.seed,
                   where=o.where, num_classes=o.num_classes, sample_weight=o.sample_weight,
                   drop_remainder=o.drop_remainder, memory_budget=o.memory_budget, verify=o.verify,
                   manifest_sha256=o.manifest_sha256, dtype=o.dtype, **runtime)

    # -- Keras protocol ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int):
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(f"batch index must be an integer, got {index!r}") from None
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

    # -- provenance and config --------------------------------------------------------------------
    def provenance(self, batch: int, epoch: int | None = None):
        """The source rows of batch ``batch`` of ``epoch`` (default: the current epoch), as a DataFrame."""
        try:
            batch = operator.index(batch)
        except TypeError:
            raise TypeError(f"batch index must be an integer, got {batch!r}") from None
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
