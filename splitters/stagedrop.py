"""The staged files deleted in the background once the shards are written.

After the write step nothing reads the staged Arrow files again (the conservation proof uses the
reduce tasks' bitmaps), but they were deleted only after the commit, with the staging tree, while
both cores idled: freeing a file's page-cache pages is what costs (about 0.1-0.4 s for the 1.8 GB a
20M-row split stages). ``dropped_in_background`` deletes them in a thread of its own while the
driver proves conservation, builds, checks and commits the manifest. It waits for that thread
before the block ends, so nothing is still being deleted when the split lets go of the output
directory. A file already gone (kept in memory, or deleted by the staging tree's clean-up, which
skips missing files too) is skipped; a kill leaves the rest to the staging tree's recovery."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator


def _unlink_all(paths: list[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:   # gone already, or not ours to judge here: the staging tree's clean-up reports
            pass


@contextmanager
def dropped_in_background(paths: list[str]) -> Iterator[None]:
    local = [p for p in paths if "://" not in p]
    thread = threading.Thread(target=_unlink_all, args=(local,), name="datagen-staged-drop") if local else None
    if thread is not None:
        thread.start()
    try:
        yield
    finally:
        if thread is not None:
            thread.join()
