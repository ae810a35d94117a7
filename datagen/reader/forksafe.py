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
