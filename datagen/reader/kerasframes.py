"""Reading Keras's call frames: Keras 3 tells a ``PyDataset`` neither who asks for a batch nor which fit is
running, and the generator needs both.

* ``from_keras_adapter`` / ``asked_by_keras`` / ``keras_pass``: whether ``__getitem__`` was called by Keras's
  PyDataset adapter (its epoch loop or its enqueuer, as opposed to ``gen[i]`` by hand), and which of Keras's
  passes (one per fit, evaluate or predict call) asked (kerasorder.py counts their order);
* ``fit_iterator`` / ``fit_running``: the epoch iterator of the running ``fit`` (seen from a callback), and
  whether that fit is still in some thread's call stack (fitsync.py: a fit with ``gen.callback`` that an
  exception ended gets no ``on_train_end``).

They rely on Keras 3.15's names (the adapter module and its ``_finite_generator`` and ``get_index``, ``fit``'s
local ``epoch_iterator``); when Keras renames them the checks turn off, and the tests with real fits
(test_keras_order.py, test_fit_epoch_numbers.py) fail.
"""

from __future__ import annotations

import sys
import weakref

ADAPTER_MODULE = "keras.src.trainers.data_adapters.py_dataset_adapter"
ADAPTER_CALLERS = frozenset({"_finite_generator", "get_index"})


def from_keras_adapter(frame) -> bool:
    """Whether ``frame`` (the caller of ``__getitem__``) is Keras's PyDataset adapter (its shape probe too)."""
    return frame is not None and frame.f_globals.get("__name__") == ADAPTER_MODULE


def asked_by_keras(frame) -> bool:
    """Whether ``frame`` (the caller of ``__getitem__``) is Keras's adapter serving an epoch."""
    return from_keras_adapter(frame) and frame.f_code.co_name in ADAPTER_CALLERS


def keras_pass(frame) -> object:
    """Which of Keras's passes ``frame`` (``asked_by_keras``) serves: the enqueuer's ``uid`` (one per fit,
    evaluate or predict call, in worker threads and processes alike), or the adapter serving one worker
    (a weak reference: an adapter made later at a freed one's address is another pass). Requests that a
    pass left running when an exception ended its fit (Keras then never stops its enqueuer) keep their
    own record instead of striking the next fit's."""
    names = frame.f_locals
    return ("uid", names["uid"]) if "uid" in names else weakref.ref(names["self"])


def _is_fit(frame) -> bool:
    return frame.f_code.co_name == "fit" and frame.f_globals.get("__name__", "").startswith("keras.src.")


def fit_iterator(frame):
    """The epoch iterator of the Keras ``fit`` running in ``frame``'s stack (from a callback), or None."""
    while frame is not None:
        if _is_fit(frame) and frame.f_locals.get("epoch_iterator") is not None:
            return frame.f_locals["epoch_iterator"]
        frame = frame.f_back
    return None


def fit_running(iterator) -> bool:
    """Whether the ``fit`` of ``iterator`` is in the call stack of any thread (validation, an evaluate inside it,
    or one from another thread while it runs: it is still running)."""
    for frame in list(sys._current_frames().values()):
        while frame is not None:
            if _is_fit(frame) and frame.f_locals.get("epoch_iterator") is iterator:
                return True
            frame = frame.f_back
    return False
