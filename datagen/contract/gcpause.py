"""Pause Python's cyclic garbage collector while a large manifest is decoded, checked or rendered.

Decoding a 100k-shard manifest allocates about a million dicts and lists, none of them in a
cycle; each allocation burst triggers collections that traverse everything allocated so far,
which costs about as much as the decoding itself. The collector is turned back on (if it was on)
when the block ends, also on an error; reference counting frees everything as usual meanwhile.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@contextmanager
def gc_frozen() -> Iterator[None]:
    """For a command that has just read a large manifest which lives as long as the block (an append's
    parent): the objects alive now are exempted from the cyclic collector for the block (``gc.freeze``),
    so the collections the block's own allocations trigger do not traverse the million manifest objects
    again and again (0.1-0.2 s of an append at 100k shards). They are still freed by reference counting;
    the block's own objects are collected as usual; after the block everything is as before. Nothing is
    frozen when something else froze objects already (its freeze is left alone)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
