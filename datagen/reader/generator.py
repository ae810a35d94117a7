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

Mid-epoch resume (resume.py, epochview.py): the callback also counts the batches
training finished (``on_train_batch_end``), which ``state()`` reports. After
``restore(state)`` at step k of epoch e, ``len(gen)`` is N-k and ``gen[i]`` is batch
k+i of the epoch. Keras 3.15 fixes the number of steps of EVERY epoch of one fit from
``num_batches`` read once when fit starts (EpochIterator.reset), and reads it again
when each epoch's iterator starts (PyDatasetAdapter). So ``num_batches`` says N until
fit begins the resumed epoch, then N-k: the resumed epoch ends after its N-k
remaining batches (Keras's "ran out of data" warning for that epoch is silenced) and
later epochs of the same fit get all N steps. A shorter value at fit start would
cut every later epoch of that fit to N-k steps.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import warnings
from typing import Any

import keras

from . import forksafe
from .batches import BatchSource
from datagen.contract.errors import ConfigError
from .options import (OPTIONS_DOC, RUNTIME_KEYS, GeneratorOptions, RuntimeOptions, generator_signature,
                      load_config_file, options_from_config)
from .epochview import EpochView
from .fitcallback import EpochCallback
from .plan import check_batch_index, check_epoch
from .resume import KERAS_SHORT_EPOCH, StateCheckpoint, check_state, make_state, read_state
from .store import Storage

GENERATOR_SIGNATURE = generator_signature()


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
    def _offset(self) -> int:
        """Batches of the current epoch skipped by restore()."""
        r = self._resume
        return r[1] if r is not None and r[0] == self.epoch else 0

    def __len__(self) -> int:
        return self.view.per_replica - self._offset()

    @property
    def num_batches(self) -> int:
        """What Keras reads (see the module docstring): N until fit begins a resumed epoch, then len(gen)."""
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
            raise IndexError(f"batch index {i} out of range: this generator has {n} batches "
                             f"(valid indices 0..{n - 1}, or -{n}..-1 from the end)")
        return self.source.batch(self.view.plan_batch(self._offset() + i), self.epoch)

    def on_epoch_begin(self):
        with self._epoch_lock:
            self._epochs_begun += 1
            if self._resume is not None and not self._resume_entered and self._hook_ends:
                raise ConfigError(f"gen.restore() resumes epoch {self._resume[0]} at step {self._resume[1]}: pass "
                                  "callbacks=[gen.callback] (or gen.checkpoint(...)) to model.fit")

    def on_epoch_end(self):
        with self._epoch_lock:
            self._hook_ends += 1
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
            epoch = int(epoch)
            if self._resume is not None:
                start, step = self._resume
                if epoch == start:
                    self._resume_entered = True
                    if step and self._quiet is None:
                        warnings.filterwarnings("ignore", message=KERAS_SHORT_EPOCH)
                        self._quiet = warnings.filters[0]
                elif not self._resume_entered:
                    raise ConfigError(f"gen.restore() resumes epoch {start} at step {step}, but model.fit starts "
                                      f"epoch {epoch}; pass initial_epoch={start} to fit")
                else:
                    self._resume, self._resume_entered = None, False
            self.epoch = epoch
            self._step = self._offset()

    def _batch_end_from_fit(self, batch: int) -> None:
        with self._epoch_lock:
            self._step = self._offset() + int(batch) + 1

    def _end_epoch_from_fit(self, epoch: int) -> None:
        with self._epoch_lock:
            if self._quiet is not None:
                if self._quiet in warnings.filters:
                    warnings.filters.remove(self._quiet)
                    warnings._filters_mutated()
                self._quiet = None

    def _train_begin_from_fit(self, model) -> None:
        """Agree with BackupAndRestore (Keras 3.15), which restores the epoch into ``model._initial_epoch``
        before fit reads it. Saved at an epoch's last batch, its epoch is that epoch (its own counter moves at
        on_epoch_end) while the state already says the next one: the state, written after the weights, wins."""
        if self._resume is None:
            return
        start, step = self._resume
        restored = getattr(model, "_initial_epoch", None)
        if restored and restored != start:
            if restored == start - 1 and step == 0:
                model._initial_epoch = start
            else:
                raise ConfigError(f"BackupAndRestore restored epoch {restored} but gen.restore() is at epoch {start} "
                                  f"step {step}: the weights and the generator state were not saved together (use "
                                  "the same save_freq, gen.checkpoint after BackupAndRestore in callbacks)")

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
        with self._epoch_lock:
            self._resume, self._resume_entered, self._hook_ends = (epoch, step), False, 0
            self.epoch, self._step, self._synced_by_fit = epoch, step, True

    def checkpoint(self, path: str, save_freq: int | str = "epoch") -> keras.callbacks.Callback:
        """A callback writing ``state()`` to ``path`` when ``BackupAndRestore(save_freq=...)`` saves weights."""
        return StateCheckpoint(self, path, save_freq)

    def set_epoch(self, epoch: int) -> None:
        """Use the batches of ``epoch`` from now on (for custom training loops)."""
        epoch = check_epoch(epoch)
        with self._epoch_lock:
            if self._resume is not None and epoch != self._resume[0]:
                self._resume, self._resume_entered = None, False
            self.epoch, self._step = epoch, self._offset()

    def as_tf_dataset(self, first_epoch: int = 0):
        """The batches of ``self[i]``, element for element, as a ``tf.data.Dataset`` (TensorFlow backend
        only; faster in ``model.fit``). Pass ``callbacks=[gen.callback]`` so each pass uses fit's epoch;
        see reader/tfdata.py."""
        from .tfdata import as_tf_dataset

        return as_tf_dataset(self, first_epoch)

    # -- provenance and config --------------------------------------------------------------------
    def provenance(self, batch: int, epoch: int | None = None):
        """The source rows of batch ``batch`` of ``epoch`` (default: the current epoch), as a DataFrame.
        ``batch`` counts in the uninterrupted epoch of this replica: after a resume at step k, the first
        batch trained is batch k, not 0 (as ``state()["step"]``)."""
        batch = check_batch_index(batch)
        return self.source.provenance(self.view.plan_batch(batch), self.epoch if epoch is None else check_epoch(epoch))

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
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._epoch_lock = threading.Lock()
        forksafe.register(self)

    def _after_fork(self) -> None:
        self._epoch_lock = threading.Lock()  # another parent thread may have held it at the fork
