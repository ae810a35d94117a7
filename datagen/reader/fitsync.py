"""Which epoch is it: ``FitSync``, the part of ``DataGenerator`` that follows ``model.fit``'s epochs.

``__getitem__(i)`` depends on the epoch when shuffling, and must agree with model.fit's own epoch
numbers. Two mechanisms, both race-free:

* ``callbacks=[gen.callback]`` (recommended, exact): the callback's
  ``on_epoch_begin(epoch)`` runs before Keras starts fetching that epoch's
  batches, so fit's own number (``initial_epoch`` included) is used.
* without it, the generator counts with its one counter ``_next_epoch`` (shared with
  ``as_tf_dataset`` passes; set by ``set_epoch``, ``restore`` and the end of a fit with the
  callback): Keras calls ``on_epoch_end`` once when fit starts and after every epoch, always
  after its workers have stopped, so the generator moves there to the next epoch. For a single
  ``fit`` of a fresh generator this equals fit's numbering.

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

A fit with the callback that an exception ended gets no ``on_train_end`` from Keras: when the next pass (an
epoch hook, an ``as_tf_dataset`` pass), ``set_epoch`` or ``restore`` begins and that fit is in no thread's call
stack (kerasframes.py), it is ended there as a finished fit (``_end_stale_fit``).

The state lives on the generator (generator.py sets it up: ``epoch``, ``_step``, ``_resume``,
``_resume_entered``, ``_hook_ends``, ``_quiet``, ``_next_epoch``, ``_synced_by_fit``,
``_epoch_lock``, ``_callback``); this mixin holds the code that moves it.
"""

from __future__ import annotations

import os
import sys
import warnings
import weakref

import keras

from datagen.contract.errors import ConfigError
from .fitcallback import EpochCallback
from .kerasframes import fit_iterator, fit_running
from .nextepoch import follow
from .resume import KERAS_SHORT_EPOCH


class FitSync:
    """Mixin of ``DataGenerator``: the PyDataset epoch hooks and the callback's side."""

    def on_epoch_begin(self):
        self._end_stale_fit()
        with self._epoch_lock:
            self._next_epoch = self.epoch + 1
            self._order.new_pass()
            if self._resume is not None and not self._resume_entered and self._hook_ends:
                raise ConfigError(f"gen.restore() resumes epoch {self._resume[0]} at step {self._resume[1]}: pass "
                                  "callbacks=[gen.callback] (or gen.checkpoint(...)) to model.fit; evaluate or "
                                  "predict on a generator that was not restored")

    def on_epoch_end(self):
        self._end_stale_fit()
        with self._epoch_lock:
            self._hook_ends += 1
            self._order.new_pass()
            if not self._synced_by_fit:
                # the epoch moves on after a pass cut short (_note_served); batch 0 alone is Keras probing
                # the shapes (fit's first call, before its first epoch, moves no epoch)
                if self._next_epoch != self.epoch and len(self._served) > 1 and self._served_epoch == self.epoch \
                        and len(self._served) < len(self):
                    self._cut = (self.epoch, max(self._served), os.getpid())   # served here: worker processes
                    # (use_multiprocessing=True) serve their own batches, so the rule holds in this process only
                self.epoch = self._next_epoch

    def _end_stale_fit(self) -> None:
        """A fit with the callback is believed running but is in no thread's call stack: an exception ended it
        and Keras called no ``on_train_end``. End it here as a finished fit (a resumed epoch it entered is over
        too), so that passes without the callback count on from the epoch after its last; an epoch it began
        but trained no batch of is served next. Called where a pass, ``set_epoch`` or ``restore`` begins."""
        ref = self._fit_iter
        if not self._in_fit or ref is None or (ref() is not None and fit_running(ref())):
            return
        self._order.refused = None   # a refusal that fit never raised belongs to it
        with self._epoch_lock:
            untrained = self._step == self._offset()
        self._end_failed_fit(again=untrained)

    def _end_failed_fit(self, again: bool) -> None:
        """End a fit that gets no ``on_train_end`` (an exception, or the order refusal, left it) as a finished
        one; a resumed epoch it entered is over too. ``again``: its current epoch is served next."""
        self._fit_iter = None
        with self._epoch_lock:
            if self._resume_entered:
                self._resume, self._resume_entered = None, False
        self._end_epoch_from_fit(None)
        if again:
            with self._epoch_lock:
                self._next_epoch = self.epoch

    def _note_served(self, i: int) -> None:
        """Without the callback, remember which batches of this epoch this process served; refuse a batch
        that carries on a pass an epoch end cut short. Keras keeps its iterator across the epochs of one
        ``fit(gen, steps_per_epoch=...)`` with fewer steps than ``len(gen)``: it asks for batches 10, 11, ...
        after epoch 0 served 0..9, while the generator moved to the next epoch's order at that epoch's end,
        so rows would train twice and others never (the callback refuses this case before fit starts)."""
        if self._synced_by_fit:
            return
        with self._epoch_lock:
            if self._served_epoch != self.epoch:
                self._served_epoch, self._served = self.epoch, set()
            cut = self._cut
            if cut is not None and (i == 0 or cut[2] != os.getpid()):   # a new pass begins: nothing is carried on
                self._cut = cut = None
            if cut is not None and i > cut[1]:
                raise ConfigError(f"batch {i} was asked for after epoch {cut[0]} ended at batch {cut[1]} of "
                                  f"{len(self)}: model.fit carries its pass across epochs when steps_per_epoch is "
                                  "less than len(gen), so rows would train twice and others never; leave "
                                  "steps_per_epoch out (or run one epoch), or call gen.set_epoch() before "
                                  "reading batches by hand")
            self._served.add(i)

    @property
    def callback(self) -> keras.callbacks.Callback:
        """Pass to ``model.fit(callbacks=[...])`` so batches follow fit's own epoch numbers."""
        if self._callback is None:
            self._callback = EpochCallback(self)
        return self._callback

    def _check_steps(self, epoch: int, epochs: int | None) -> None:
        """Refuse, before fit's first epoch trains, a ``steps_per_epoch`` other than an epoch's batches when
        fit runs several epochs: Keras would carry its iterator across them while the batches follow fit's
        epoch numbers (rows repeated or skipped, state and provenance wrong). One epoch cut short is fine."""
        steps, self._fit_steps = self._fit_steps, None
        if steps is not None and steps != self.view.per_replica and isinstance(epochs, int) and epochs - epoch > 1:
            raise ConfigError(f"gen.callback: model.fit runs {steps} steps per epoch but this generator serves "
                              f"{self.view.per_replica} batches per epoch; leave steps_per_epoch out when fit runs "
                              "several epochs (change an epoch with batch_size or where=), and give a validation "
                              "generator no callback")

    def _begin_epoch_from_fit(self, epoch: int, epochs: int | None = None) -> None:
        """Fit begins ``epoch`` of ``range(initial_epoch, epochs)``: when another follows, its first window is
        decoded during this epoch's last one (nextepoch.py)."""
        self._check_steps(int(epoch), epochs)
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
            self._order.new_pass()
            more = isinstance(epochs, int) and epoch + 1 < epochs
            self.source.follow = follow(self.source.plan, self.view, epoch, epoch + 1) if more else None

    def _batch_end_from_fit(self, batch: int) -> None:
        self._order.raise_refused(self._abandon_fit)
        with self._epoch_lock:
            self._step = self._offset() + int(batch) + 1

    def _end_epoch_from_fit(self, epoch: int | None) -> None:
        """At the end of an epoch (``None``: of fit). The resumed epoch, once its last batch trained, is
        over: ``len(gen)`` is N again for later fits, ``evaluate`` and ``predict``."""
        self._order.raise_refused(self._abandon_fit)
        with self._epoch_lock:
            if epoch is None:   # fit is over: later passes without the callback count on from its last epoch
                self._order.fit_begins(False)
                self.source.follow = None
                self._in_fit = self._synced_by_fit = False
                self._next_epoch = self.epoch + 1
            if self._resume is not None and self._resume_entered and epoch is not None \
                    and int(epoch) == self._resume[0] and self._step >= self.view.per_replica:
                self._resume, self._resume_entered = None, False
            if self._quiet is not None:
                if self._quiet in warnings.filters:
                    warnings.filters.remove(self._quiet)
                    warnings._filters_mutated()
                self._quiet = None

    def _abandon_fit(self) -> None:
        """The callback is about to raise the order refusal out of fit: the refused epoch is served next."""
        self._end_failed_fit(again=True)

    def _train_begin_from_fit(self, model, steps: int | None = None) -> None:
        """Note fit's steps per epoch (checked when its first epoch begins, ``_check_steps``). Agree with BackupAndRestore (Keras 3.15), which restores the epoch into
        ``model._initial_epoch`` before fit reads it. Saved at an epoch's last batch, its epoch is that epoch
        (its own counter moves at on_epoch_end) while the state already says the next one: the state, written
        after the weights, wins."""
        running = fit_iterator(sys._getframe())
        with self._epoch_lock:
            self._in_fit, self._fit_steps = True, steps
            self._fit_iter = weakref.ref(running) if running is not None else None
            self._order.fit_begins(True)
            self._fits += 1   # as_tf_dataset passes number themselves within one fit (tfdata.py)
        if self._resume is None:
            return
        start, step = self._resume
        restored = getattr(model, "_initial_epoch", None)
        if not restored or restored == start:
            return
        if restored == start - 1 and step == 0:
            model._initial_epoch = start
        elif restored == start + 1:  # killed between the two writes of one save point: the state wins
            warnings.warn(f"BackupAndRestore restored epoch {restored}, the generator state epoch {start} step "
                          f"{step} (the run was killed between the two saves): resuming at the state, so the "
                          "batches trained since it are trained again", stacklevel=2)
            model._initial_epoch = start
        else:
            raise ConfigError(f"BackupAndRestore restored epoch {restored} but gen.restore() is at epoch {start} "
                              f"step {step}: the weights and the generator state were not saved together (use the "
                              "same save_freq, gen.checkpoint after BackupAndRestore in callbacks)")
