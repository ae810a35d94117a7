"""Reading the next local source ahead of the stage step's tasks.

A stage task reads its source, then computes on what it read; while it reads, its core waits for
the disk. When the sources are not in the page cache (a table larger than memory, or a first run),
both worker threads spend stretches waiting (the 100M-row benchmark's stage step kept 1.26 cores
busy). So when a task starts, the kernel is asked (``posix_fadvise(WILLNEED)``, which starts the
reads and returns) to read the next local source in the plan's order into the page cache: by the
time a task reaches it, its bytes are there. One source ahead: the page cache is not flooded, and a
file already cached costs one call. The bytes read, and so the results, are the same either way.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable


_ADVISE = getattr(os, "posix_fadvise", None)


def _source_of(item: tuple) -> str | None:
    kind, what = item
    url = what if kind == "sha256" else what.url
    return url if "://" not in url else None


def _key(item: tuple):
    kind, what = item
    return (kind, what) if kind == "sha256" else (kind, what.index)


def next_sources(work: list[tuple]) -> dict:
    """Work item key -> the next local source after that item's own, in work order (None: none)."""
    urls = [_source_of(item) for item in work]
    return {_key(item): next((u for u in urls[i + 1:] if u is not None and u != urls[i]), None)
            for i, item in enumerate(work)}


def advise(path: str) -> bool:
    """Ask the kernel to start reading ``path`` into the page cache; False where it cannot."""
    if _ADVISE is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False   # the task that reads it reports the problem
    try:
        _ADVISE(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@contextmanager
def reading_ahead(fn: Callable, work: list[tuple]):
    """``fn(item, *args)``, having first asked for the next source of the plan to be read ahead: once
    per source, from a thread of the run's own. Asked from the task's thread, the request for a whole
    file waited for the disk's queue to take all its reads (1-3 s of thread time per 15 s of the 100M
    split's stage step while staged files were written) before the task could start. The thread ends
    when the block does, whatever happened (a failed split leaves none behind)."""
    ahead = next_sources(work)
    asked: set[str] = set()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datagen-read-ahead")
    lock = threading.Lock()

    def run(item, *args):
        path = ahead.get(_key(item))
        if path is not None:
            with lock:
                new = path not in asked
                asked.add(path)
            if new:
                pool.submit(advise, path)
        return fn(item, *args)

    run.__name__ = getattr(fn, "__name__", "task")
    try:
        yield run
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
