"""Arrow's allocator, tuned for the split before pyarrow loads.

pyarrow allocates through mimalloc, which by default hands freed memory back to the system
10 ms after it is freed. The split frees and reallocates batch-sized buffers (a read batch,
its gather, a shard's columns) thousands of times, often more than 10 ms apart on a busy
machine: each reallocation then faults fresh pages in and the kernel zeroes them, which cost
up to a third of the split's system time. ``MIMALLOC_PURGE_DELAY=-1`` keeps freed memory for
reuse instead (the peak resident memory is unchanged: only freed memory is kept, and reused).

mimalloc reads its options once, when pyarrow is first imported: ``splitters/cli.py`` (the
``split-datasets`` command) calls this before anything loads pyarrow. Importing ``splitters`` as a
library changes nothing in the caller's process. A value the environment already sets wins."""

from __future__ import annotations

import os

PURGE_DELAY = "MIMALLOC_PURGE_DELAY"


def keep_freed_memory(environ=os.environ) -> bool:
    """Ask mimalloc to keep freed memory (see the module docstring); False when the environment
    already chose a value, which wins."""
    if PURGE_DELAY in environ:
        return False
    environ[PURGE_DELAY] = "-1"
    return True
