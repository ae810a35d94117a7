"""Refuse batches Keras asks for out of order: ``model.fit(gen)`` with fit's default ``shuffle=True``.

Keras's ``PyDatasetAdapter`` shuffles the *batch indices* of every epoch when ``fit`` is called with
``shuffle=True``, which is fit's default. The generator already shuffles rows across shards; reordered
batches add no mixing, but step k of an epoch no longer trains batch k, so ``provenance(k, epoch)`` and
``state()`` (which counts steps) describe batches the model did not see at that step, and windows are
decoded out of order (a probe fit at 1M rows took 15 s instead of 7 s). Keras does not tell a dataset how it was called,
so the order of the requests is the evidence:

* only requests made by Keras's adapter itself count (its epoch loop ``_finite_generator`` and the
  enqueuer's ``get_index``), found from the calling frame (kerasframes.py): ``gen[i]`` by hand, in any order, and
  Keras's shape probe (batches 0 and 1 before the first epoch) are never checked;
* each of Keras's passes (one fit, evaluate or predict call; ``keras_pass``) is followed on its own:
  a fit that an exception ended leaves its enqueuer running, and its last requests must not count
  against the next fit's;
* in order, a pass sees increasing indices in a process: strictly with one worker or with worker
  processes (each takes the pool's tasks first come, first served); with worker threads a thread can
  be held before it calls while the others run ahead, at most ``max_queue_size + 1`` batches (Keras
  submits a task before it waits for room in its queue of ``max_queue_size`` pending batches, and
  takes one off that queue before waiting for it; tests/test_keras_order.py checks interleavings of
  a simulated enqueuer with hypothesis), so ``workers + max_queue_size`` below the highest index
  asked for so far is allowed;
* a request further below it is a strike; three strikes in one pass refuse the batch. A shuffled
  epoch soon asks for a batch near its end, after which every request in its first part strikes,
  so it is refused within its first batches unless the epoch has hardly more batches than the slack.

Every epoch hook (``on_epoch_begin``/``on_epoch_end``, fit's epoch begin) starts a new epoch of every pass.
"""

from __future__ import annotations

import os

from datagen.contract.errors import ConfigError

STRIKES = 3
PASSES_KEPT = 64   # records of Keras passes kept per process (one per fit, evaluate or predict call)


class KerasOrder:
    """Per Keras pass in this process: the highest index asked for in this epoch and the strikes."""

    def __init__(self, workers: int, use_multiprocessing: bool, max_queue_size: int):
        threads = workers > 1 and not use_multiprocessing
        self.slack = workers + max_queue_size if threads else 0
        self.fit_pid = None    # the process running a fit with gen.callback, which raises the refusal itself
        self.fit = 0           # fits with gen.callback begun: a pass records the one it started in
        self._epoch = 0        # epoch hooks so far: a pass's highest index and strikes count within one
        self._pid, self._passes, self.refused = os.getpid(), {}, None   # refused: for the callback to raise

    def __getstate__(self):   # a pickled generator (a spawned worker) starts with no record (weak keys)
        return {**self.__dict__, "_passes": {}, "refused": None}

    def new_pass(self) -> None:
        self._epoch += 1
        self.refused = None

    @property
    def strikes(self) -> int:
        return sum(p[2] for p in self._passes.values() if p[0] == self._epoch)

    def fit_begins(self, running: bool) -> None:
        self.fit_pid = os.getpid() if running else None
        self.fit += running

    def see(self, index: int, epoch: int, key: object = None) -> None:
        """Note that Keras's pass ``key`` (``keras_pass``) asked for batch ``index``; refuse after three strikes
        in one epoch of it. In the process of a fit with ``gen.callback``, when the pass began in that fit, the
        batch that made the third strike is served and the callback raises at that step's end (a plain
        ``ConfigError`` out of ``fit``); any later request of the pass raises here (the error then reaches fit
        wrapped by the data pipeline)."""
        if self._pid != os.getpid():   # a worker process forked with the parent's records
            self._pid, self._passes = os.getpid(), {}
        rec = self._passes.get(key)
        if rec is None:
            while len(self._passes) >= PASSES_KEPT:
                self._passes.pop(next(iter(self._passes)), None)
            rec = self._passes[key] = [self._epoch, index, 0, self.fit, None]   # epoch, high, strikes, fit, refusal
        if rec[4] is not None:
            raise ConfigError(rec[4])
        if rec[0] != self._epoch:
            rec[:3] = [self._epoch, index, 0]
        high = rec[1]
        if index > high:
            rec[1] = index             # racing threads: a lost update only lowers the highest index
        if high - index <= self.slack:
            return
        rec[2] += 1
        if rec[2] < STRIKES:
            return
        rec[4] = (f"model.fit asked for batch {index} of epoch {epoch} after batch {high}: Keras is reordering "
                  "this generator's batches, as model.fit does with shuffle=True (its default); pass shuffle=False to "
                  "model.fit (the generator shuffles rows across shards itself, and step k of an epoch must train "
                  "batch k for provenance(k) and state() to hold)")
        if self.fit_pid != os.getpid() or rec[3] != self.fit:
            raise ConfigError(rec[4])
        self.refused = rec[4]

    def raise_refused(self, abandon) -> None:
        """Raise the refusal a request noted for the callback (``abandon()`` first: fit ends without
        ``on_train_end``)."""
        message, self.refused = self.refused, None
        if message is not None:
            abandon()
            raise ConfigError(message)
