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
