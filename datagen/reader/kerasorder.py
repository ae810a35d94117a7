"""Refuse batches Keras asks for out of order: ``model.fit(gen)`` with fit's default ``shuffle=True``.

Keras's ``PyDatasetAdapter`` shuffles the *batch indices* of every epoch when ``fit`` is called with
``shuffle=True``, which is fit's default. The generator already shuffles rows across shards; reordered
batches add no mixing, but step k of an epoch no longer trains batch k, so ``provenance(k, epoch)`` and
``state()`` (which counts steps) describe batches the model did not see at that step, and windows are
decoded out of order (a probe fit at 1M rows took 15 s instead of 7 s). Keras does not tell a dataset how it was called,
so the order of the requests is the evidence:

* only requests made by Keras's adapter itself count (its epoch loop ``_finite_generator`` and the
  enqueuer's ``get_index``), found from the calling frame: ``gen[i]`` by hand, in any order, and
  Keras's shape probe (batches 0 and 1 before the first epoch) are never checked;
* in order, a process sees increasing indices: strictly with one worker or with worker processes
  (each takes the pool's tasks first come, first served); with worker threads a thread can be held
  before it calls while the others run ahead, at most ``max_queue_size + 1`` batches (Keras submits a
  task before it waits for room in its queue of ``max_queue_size`` pending batches, and takes one off
  that queue before waiting for it; tests/test_keras_order.py checks interleavings of a simulated
  enqueuer with hypothesis), so ``workers + max_queue_size`` back is allowed;
* a request further back than that, after the previous one in the same pass of the same process, is a
  strike; three strikes in one pass refuse the batch. One stale request (a cancelled pass finishing its
  last call) makes at most one strike; a shuffled epoch makes one at about every second request when
  it has many more batches than the slack, so it is refused within its first few batches (an epoch of
  fewer batches than the slack cannot be told from jitter and is not refused).

Every epoch hook (``on_epoch_begin``/``on_epoch_end``, fit's epoch begin) starts a new pass.
"""

from __future__ import annotations

import os

from datagen.contract.errors import ConfigError

ADAPTER_MODULE = "keras.src.trainers.data_adapters.py_dataset_adapter"
ADAPTER_CALLERS = frozenset({"_finite_generator", "get_index"})
STRIKES = 3


def from_keras_adapter(frame) -> bool:
    """Whether ``frame`` (the caller of ``__getitem__``) is Keras's PyDataset adapter (its shape probe too)."""
    return frame is not None and frame.f_globals.get("__name__") == ADAPTER_MODULE


def asked_by_keras(frame) -> bool:
    """Whether ``frame`` (the caller of ``__getitem__``) is Keras's adapter serving an epoch."""
    return from_keras_adapter(frame) and frame.f_code.co_name in ADAPTER_CALLERS


class KerasOrder:
    """The requests of the current pass in this process: the last index and the strikes so far."""

    def __init__(self, workers: int, use_multiprocessing: bool, max_queue_size: int):
        threads = workers > 1 and not use_multiprocessing
        self.slack = workers + max_queue_size if threads else 0
        self.fit_pid = None    # the process running a fit with gen.callback, which raises the refusal itself
        self.new_pass()        # self.refused: the refusal, raised by the callback at the next batch end

    def new_pass(self) -> None:
        self._pid, self._last, self.strikes, self.refused = os.getpid(), None, 0, None

    def fit_begins(self, running: bool) -> None:
        self.fit_pid = os.getpid() if running else None

    def see(self, index: int, epoch: int) -> None:
        """Note that Keras's adapter asked for batch ``index`` (``asked_by_keras``); refuse after three strikes in one pass. In the process of
        a fit with ``gen.callback`` the batch that made the third strike is served and the callback raises at
        that step's end (a plain ``ConfigError`` out of ``fit``); any later request of the pass raises here (the
        error then reaches fit wrapped by the data pipeline, with this message in it)."""
        if self._pid != os.getpid():   # a worker process forked with the parent's record
            self.new_pass()
        if self.refused is not None:
            raise ConfigError(self.refused)
        last, self._last = self._last, index   # racing threads: only indices seen are written
        if last is None or last - index <= self.slack:
            return
        self.strikes += 1
        if self.strikes < STRIKES:
            return
        self.refused = (f"model.fit asked for batch {index} of epoch {epoch} right after batch {last}: Keras is "
                        "reordering this generator's batches, as model.fit does with shuffle=True (its default); "
                        "pass shuffle=False to model.fit (the generator shuffles rows across shards itself, and step "
                        "k of an epoch must train batch k for provenance(k) and state() to hold)")
        if self.fit_pid != os.getpid():
            raise ConfigError(self.refused)

    def raise_refused(self) -> None:
        if self.refused is not None:
            raise ConfigError(self.refused)
