"""``DataGenerator``: a ``keras.utils.PyDataset`` over a split dataset, with provenance.

Batches come from ``BatchSource`` (batches.py), this replica's share of each epoch from
``EpochView`` (epochview.py); which epoch model.fit is in, and the resumed epoch's shorter length,
are followed by the ``FitSync`` mixin (fitsync.py, which explains both mechanisms); ``state()`` and
``restore()`` write and check the resume state (resume.py); ``as_tf_dataset()`` is in tfdata.py.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import warnings
from typing import Any

import keras

from . import forksafe
from .batches import BatchSource
from datagen.contract.errors import ConfigError
from datagen.contract.sourcecheck import changed_sources
from .options import (OPTIONS_DOC, RUNTIME_KEYS, GeneratorOptions, RuntimeOptions, generator_signature,
                      load_config_file, options_from_config)
from .epochview import EpochView
from .fitsync import FitSync
from .plan import batch_out_of_range, check_batch_index, check_epoch
from .fitcallback import StateCheckpoint
from .heappad import pad_thread_heaps
from .kerasframes import asked_by_keras, from_keras_adapter, keras_pass
from .kerasorder import KerasOrder
from .resume import check_state, make_state, read_state
from .store import Storage
from .text_tensors import check_text_tensors, refuse_text_for_keras, text_to_tensors

GENERATOR_SIGNATURE = generator_signature()


class DataGenerator(FitSync, keras.utils.PyDataset):
    __doc__ = ("Labelled batches from the shards of ``directory`` for ``model.fit``.\n\n"
               "    ``DataGenerator(directory, features, **options)``: the options are the fields of\n"
               "    ``GeneratorOptions`` (what determines the batches) and ``RuntimeOptions`` (how they are\n"
               "    delivered), with their defaults; see the signature.\n\n" + OPTIONS_DOC)

    def __init__(self, directory, features, **options):
        GENERATOR_SIGNATURE.bind(self, directory, features, **options)  # a TypeError names a wrong keyword
        runtime = RuntimeOptions(**{k: options.pop(k) for k in RUNTIME_KEYS if k in options})
        super().__init__(workers=runtime.workers, use_multiprocessing=runtime.use_multiprocessing,
                         max_queue_size=runtime.max_queue_size)
        check_text_tensors(runtime.text_tensors)
        self._text_tensors = runtime.text_tensors  # text inputs as tf.string tensors (text_tensors.py)
        self._made_in = os.getpid()                 # ... in this process only (TensorFlow is not fork-safe)
        pad_thread_heaps()                          # training steps stop page-faulting their memory (heappad.py)
        self.source = BatchSource(GeneratorOptions(directory, features, **options), transform=runtime.transform,
                                  storage=Storage(runtime.storage_options, runtime.cache_dir, runtime.cache_size))
        o = self.source.options
        self.view = EpochView(len(self.source), o.num_replicas, o.replica, o.replica_tail)
        self.epoch = 0
        self._step = 0             # batches of self.epoch training finished (replica batch numbers)
        self._resume = None        # (epoch, step) from restore(), until fit moves past that epoch
        self._resume_entered = False
        self._hook_ends = 0        # PyDataset on_epoch_end calls since restore(): fit calls it once at its start
        self._quiet = None         # the warnings filter silencing Keras during a resumed epoch
        self._next_epoch = 0       # the epoch the next pass without gen.callback serves (fitsync.py, tfdata.py)
        self._synced_by_fit = False
        self._in_fit = False        # a fit with gen.callback is running: as_tf_dataset passes use self.epoch
        self._fit_iter = None       # ... a weak reference to its epoch iterator (fitsync._end_stale_fit)
        self._fits = 0              # fits with gen.callback begun (fitsync.py)
        self._fit_steps = None      # its steps per epoch, until its first epoch begins (fitsync._check_steps)
        self._served, self._served_epoch = set(), None   # without the callback: batches served this epoch
        self._cut = None            # (epoch, last batch, pid) of a pass an epoch end cut short (fitsync._note_served)
        self._epoch_lock = threading.Lock()
        self._callback = None
        self._order = KerasOrder(runtime.workers, runtime.use_multiprocessing, runtime.max_queue_size)
        self._tf_built = False      # as_tf_dataset() made a dataset, which serves whole epochs
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
    def _offset(self) -> int:
        """Batches of the current epoch skipped by restore()."""
        r = self._resume
        return r[1] if r is not None and r[0] == self.epoch else 0

    def __len__(self) -> int:
        return self.view.per_replica - self._offset()

    @property
    def num_batches(self) -> int:
        """What Keras reads (see the module docstring): N until fit begins a resumed epoch, then len(gen). Keras
        reads it before any epoch hook, so a fit that an exception ended is ended here too (fitsync.py)."""
        self._end_stale_fit()
        return self.view.per_replica if self._resume is not None and not self._resume_entered else len(self)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: int):
        i = check_batch_index(index)
        n = len(self)
        if -n <= i < n:
            i = i + n if i < 0 else i
        elif 0 <= i < self.num_batches:  # Keras probing shapes, or its build pass under a distribution
            i = i % n                      # strategy, before fit begins the resumed epoch: discarded batches
        else:
            raise batch_out_of_range(i, n)
        caller = sys._getframe(1)
        if asked_by_keras(caller):    # Keras's shuffle=True refused (kerasorder.py)
            self._order.see(index, self.epoch, keras_pass(caller))
        self._note_served(i)
        batch = self.source.batch(self.view.plan_batch(self._offset() + i), self.epoch)
        if self._text_tensors:
            return text_to_tensors(batch, os.getpid() == self._made_in)
        if from_keras_adapter(caller):
            refuse_text_for_keras(batch)
        return batch

    # -- resume -------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Where training is: ``epoch``, ``step`` (batches of it finished), seed, config and dataset hashes."""
        with self._epoch_lock:
            epoch, step = self.epoch, self._step
        return make_state(self, epoch, step)

    def restore(self, state: dict | str) -> None:
        """Continue from ``state`` (a dict from ``state()`` or a file from ``checkpoint``): the next
        ``fit(gen, initial_epoch=state["epoch"], callbacks=[gen.callback])`` serves the remaining batches."""
        epoch, step = check_state(self, read_state(state))
        self._end_stale_fit()
        if step and self._tf_built:
            raise ConfigError(f"restore(): this generator already made a tf.data dataset (as_tf_dataset), which "
                              f"serves whole epochs; resume epoch {epoch} at step {step} with model.fit(gen, ...) "
                              "on a generator without one")
        with self._epoch_lock:
            self._resume, self._resume_entered, self._hook_ends, self._cut = (epoch, step), False, 0, None
            self.epoch, self._step, self._synced_by_fit = epoch, step, True
            self._next_epoch = epoch
            self._order.new_pass()

    def checkpoint(self, path: str, save_freq: int | str = "epoch") -> keras.callbacks.Callback:
        """A callback writing ``state()`` to ``path`` when ``BackupAndRestore(save_freq=...)`` saves weights."""
        return StateCheckpoint(self, path, save_freq)

    def set_epoch(self, epoch: int) -> None:
        """Use the batches of ``epoch`` from now on (for custom training loops)."""
        epoch = check_epoch(epoch)
        self._end_stale_fit()
        with self._epoch_lock:
            if self._resume is not None and epoch != self._resume[0]:
                self._resume, self._resume_entered = None, False
            self.epoch, self._step, self._next_epoch = epoch, self._offset(), epoch
            self._cut = None
            self._order.new_pass()

    def as_tf_dataset(self, first_epoch: int | None = None):
        """The batches of ``self[i]``, element for element, as a ``tf.data.Dataset`` (TensorFlow backend
        only; faster in ``model.fit``). Pass ``callbacks=[gen.callback]`` so each pass uses fit's epoch;
        see reader/tfdata.py."""
        from .tfdata import as_tf_dataset

        dataset = as_tf_dataset(self, first_epoch)
        self._tf_built = True
        return dataset

    # -- provenance and config --------------------------------------------------------------------
    def provenance(self, batch: int, epoch: int | None = None):
        """The source rows of batch ``batch`` of ``epoch`` (default: the current epoch), as a DataFrame.
        ``batch`` counts in the uninterrupted epoch of this replica: after a resume at step k, the first
        batch trained is batch k, not 0 (as ``state()["step"]``). A negative ``batch`` counts from the end of
        that epoch, as ``gen[-1]`` does."""
        batch, n = check_batch_index(batch), self.view.per_replica
        if not -n <= batch < n:
            raise batch_out_of_range(batch, n)
        batch = batch + n if batch < 0 else batch
        table = self.source.provenance(self.view.plan_batch(batch), self.epoch if epoch is None else check_epoch(epoch))
        for line in changed_sources(self.source.manifest, table["source_id"].unique()):   # contract/sourcecheck.py
            warnings.warn(f"provenance: {line}", UserWarning, stacklevel=2)
        return table

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
        state["_quiet"] = None
        state["_fit_iter"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._epoch_lock = threading.Lock()
        forksafe.register(self)

    def _after_fork(self) -> None:
        self._epoch_lock = threading.Lock()  # another parent thread may have held it at the fork
