"""Which staged files of a local run are written directly (staged_direct.py), and the run's writer.

Staged bytes the page cache holds without writing them back (below ``vm.dirty_background_*``, ~2.2 GB
on the 24 GB VM) cost nothing on the disk: a 20M-row split's 1.8 GB are read back from memory and
deleted before any is written back. Beyond that they are written back anyway, competing with the
sources' reads, and their blocks must be discarded when deleted; so once a run has staged that much
(``goes_direct``), its further staged files are written and read past the page cache. Measured on the
20M-row benchmark: direct staging throughout made the split 1.08x DuckDB's wall time, against 0.89x
before (1.9 s of its publish step went to discarding the staged blocks).

A direct write waits for the disk: done in the stage task's own thread, about a third of each task
(~170 ms per 90 MB staged file) left a core idle. The writer registered under the staging directory
(``writing_staged``, local scheduler only) takes the files serialized into one of a few aligned buffers
and writes them from one thread. The driver waits for every
write (``flush``, which raises the first error) before the write step reads any staged file, and
leaving the scope waits for the writes still in flight whatever happened, so none is running when the
staging tree is removed. At most ``SLOTS`` files are held in memory at once (a task asking for a fourth
waits for a write to finish). Without a registered writer (a cluster's worker process, an append)
staged files are ordinary files. The write step's reads are planned here too (``read_ahead``): each
file's head is read once, and every task's groups are read ahead, not only those after its first."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pyarrow as pa

from .directwrite import write_file
from .oserrors import output_error
from .stage_memory import registered
from .staged_direct import DirectReads, Part, aligned_buffer, serialize

SLOTS = 3
_SCOPES: dict[str, "StagedWriter"] = {}   # staging directory -> its writer (this process)
_LOCK = threading.Lock()


def writeback_start() -> int | None:
    """The dirty page-cache bytes beyond which Linux starts writing them back to the disk
    (``vm.dirty_background_bytes``, else ``vm.dirty_background_ratio`` percent of the available
    memory); None where they cannot be read (another OS)."""
    try:
        with open("/proc/sys/vm/dirty_background_bytes") as fh:
            fixed = int(fh.read())
        if fixed:
            return fixed
        with open("/proc/sys/vm/dirty_background_ratio") as fh:
            ratio = int(fh.read())
        with open("/proc/meminfo") as fh:
            available = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:"))
        return available * ratio // 100
    except (OSError, ValueError, StopIteration):
        return None


class StagedWriter:
    def __init__(self, slots: int = SLOTS, cached: int | None = None):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datagen-staged-write")
        self._slots = threading.Semaphore(slots)
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._futures: list[Future] = []
        self._failed: BaseException | None = None   # the first background write that failed
        self.reads: DirectReads | None = None   # the write step's reads, planned (read_ahead)
        self.cached = writeback_start() if cached is None else cached   # staged bytes left to the page cache
        self.staged = 0

    def goes_direct(self, nbytes: int) -> bool:
        """Whether a staged file of ``nbytes`` is written directly: once the run's staged bytes exceed
        what the page cache holds without writing it back (``cached``); before, it is an ordinary file."""
        with self._lock:
            self.staged += nbytes
            return self.cached is not None and self.staged > self.cached

    def buffer(self, size: int) -> np.ndarray:
        """An aligned buffer of at least ``size`` bytes, once fewer than SLOTS are held."""
        self._slots.acquire()
        with self._lock:
            fits = next((i for i, b in enumerate(self._free) if len(b) >= size), None)
            if fits is not None:
                return self._free.pop(fits)
            if self._free:
                self._free.pop()   # too small: replaced by a larger one
        return aligned_buffer(size + size // 8)

    def give_back(self, buffer: np.ndarray) -> None:
        with self._lock:
            self._free.append(buffer)
        self._slots.release()

    def submit(self, path: str, buffer: np.ndarray, size: int) -> None:
        """Write ``buffer[:size]`` to ``path`` in the background (the buffer is given back after)."""
        with self._lock:
            self._futures.append(self._pool.submit(self._write, path, buffer, size))

    def _write(self, path: str, buffer: np.ndarray, size: int) -> None:
        try:
            write_file(path, memoryview(buffer)[:size])
        except BaseException as exc:
            with self._lock:
                if self._failed is None:
                    self._failed = exc
            raise
        finally:
            self.give_back(buffer)

    def raise_failed(self) -> None:
        """Raise the error of a write that already failed (a full disk stops the stage step early)."""
        with self._lock:
            failed = self._failed
        if failed is not None:
            raise failed

    def flush(self, out: str | None = None) -> None:
        """Wait for every write submitted so far; raise the first error (an OutputError naming ``out``
        when it is a failure to write there: a full disk)."""
        with self._lock:
            futures, self._futures = self._futures, []
        errors = [f.exception() for f in futures]   # waits for each
        with self._lock:
            self._free.clear()   # the buffers go back to the allocator, for the write step to reuse
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise (output_error(first, out) if out is not None else None) or first

    def write(self, batch: pa.RecordBatch, keys: list[tuple], counts: list[int], path: str) -> list[tuple]:
        """Write the staged file of ``batch`` (ordered by group) to ``path`` in the background; returns its
        groups as (key, Part, rows)."""
        mock = pa.MockOutputStream()
        serialize(batch, counts, mock)
        size = mock.size()
        self.raise_failed()
        buffer = self.buffer(size)
        try:
            head, ends = serialize(batch, counts, pa.FixedSizeBufferWriter(pa.py_buffer(buffer[:size])))
        except BaseException:
            self.give_back(buffer)
            raise
        self.submit(path, buffer, size)
        starts = [head, *ends[:-1]]
        return [(key, Part(head, s, e), c) for key, s, e, c in zip(keys, starts, ends, counts)]

    def read_ahead(self, tasks: list[list]) -> None:
        """Plan the write step's reads: the groups of ``tasks`` (lists of reduce.GroupJob) in the order
        the local scheduler starts them, read ahead for every task by one thread (staged_direct.py)."""
        self.reads = DirectReads().plan([(job.index, job.slices) for task in tasks for job in task])

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._free.clear()
        if self.reads is not None:
            self.reads.close()


def writer_for(path: str) -> StagedWriter | None:
    """The writer registered for the staging directory holding ``path``, if any."""
    return registered(_SCOPES, path)


@contextmanager
def writing_staged(staging_dir: str, enabled: bool, cached: int | None = None):
    """Register a background writer for the staged files under ``staging_dir`` (none when not
    ``enabled``; ``cached``: see StagedWriter.goes_direct); on leaving, wait for every write in flight and
    drop it."""
    if not enabled:
        yield None
        return
    writer = StagedWriter(cached=cached)
    with _LOCK:
        _SCOPES[staging_dir] = writer
    try:
        yield writer
    finally:
        with _LOCK:
            _SCOPES.pop(staging_dir, None)
        writer.close()


def read_ahead(staging_dir: str, tasks: list[list]) -> None:
    """Plan the write step's reads of the run staging in ``staging_dir`` (``StagedWriter.read_ahead``),
    when it has a writer; without one (a cluster, an append) each reduce task reads ahead for itself."""
    writer = writer_for(staging_dir)
    if writer is not None:
        writer.read_ahead(tasks)
