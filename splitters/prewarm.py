"""pandas imported in the background while the split starts, not in its serial prefix.

pyarrow imports pandas the first time ``pa.array`` (or a conversion to numpy) is called, and
the split's first stage tasks call it; pandas itself is only needed for ISO text times, time
zones other than UTC and high-cardinality group keys. Its import takes about 0.3 s of one core.
Imported by the driver before the split starts, that is 0.3 s during which the other core
idles; imported by the first stage task, the other stage task waits for it on the module's
import lock. ``start`` imports it in a thread of its own when the split begins, while the
driver reads the inputs' footers and the first stage tasks read and hash their files (work
that releases the GIL). Python's import lock makes any other thread that needs pandas wait
for this import instead of starting a second one, so nothing changes but when it happens."""

from __future__ import annotations

import sys
import threading

MODULES = ("pandas",)
_started: list[threading.Thread] = []
_lock = threading.Lock()


def _load() -> None:
    for name in MODULES:
        try:
            __import__(name)
        except Exception:   # not installed or broken: whoever needs it reports that, as before
            pass


def start() -> threading.Thread | None:
    """Start importing ``MODULES`` in a background thread, once per process; None when they are
    loaded already or the import has been started. The thread is not a daemon: the process
    never exits in the middle of an import."""
    with _lock:
        if _started or all(name in sys.modules for name in MODULES):
            return None
        thread = threading.Thread(target=_load, name="datagen-prewarm")
        _started.append(thread)
    thread.start()
    return thread


def finish() -> None:
    """Wait for the background import, if one runs (a split calls this before it returns or raises: a
    process forked while pandas is half imported would hang on the import lock in the child)."""
    with _lock:
        threads = list(_started)
    for thread in threads:
        thread.join()
