"""Fork safety: objects holding threads, pools or locks reset them in a forked child.

A child made by ``fork`` inherits a copy of the parent's memory but only the thread
that forked: a thread pool there has no threads (work submitted to it never runs),
and a lock or a "being decoded" event held by another parent thread is never
released. ``model.fit(use_multiprocessing=True)`` forks Keras' workers after the
parent has already decoded a batch, so every such object registers here and its
``_after_fork()`` runs in the child before any other code can touch it.
"""

from __future__ import annotations

import os
import weakref

_registered: "weakref.WeakSet" = weakref.WeakSet()


def register(obj) -> None:
    """Call ``obj._after_fork()`` in every child forked from now on (while ``obj`` lives)."""
    _registered.add(obj)


def _reset_all() -> None:
    for obj in list(_registered):
        obj._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all)


class ProcessLocal:
    """Base of the reader's parts that hold locks, caches or thread pools (their "runtime").

    The runtime belongs to one process: it is rebuilt in a forked child (through ``register``),
    after unpickling in a worker process, and by ``own_process()`` when a fork bypassed
    ``os.register_at_fork``. Subclasses name its attributes in ``RUNTIME`` and build them in
    ``_init_runtime()``; everything else is plain data and is pickled as usual.
    """

    RUNTIME: tuple[str, ...] = ()

    def _init_runtime(self) -> None:
        raise NotImplementedError

    def _start_runtime(self) -> None:
        self._pid = os.getpid()
        self._init_runtime()
        register(self)

    def _after_fork(self) -> None:
        # the parent's pools have no threads here and its locks/events may be held forever: start afresh
        self._start_runtime()

    def own_process(self) -> None:
        """Start afresh if this process was forked by something that bypassed os.register_at_fork."""
        if self._pid != os.getpid():
            self._start_runtime()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in ("_pid", *self.RUNTIME):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._start_runtime()
