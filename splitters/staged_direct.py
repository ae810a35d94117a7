"""Local staged files written and read past the page cache (``O_DIRECT``).

A staged file is written once by the stage step, read once by the write step, then deleted. Through
the page cache that round trip cost the 100M-row split about 20 s of its ~90: the bytes copied into
fresh page-cache pages, written back to the disk anyway (they outgrow the dirty limits), competing
with the sources' reads and pushing the sources out of the cache, then faulted in again from a
memory map. The same split with every staged batch kept in memory took 67 s. Written and read
directly, the staged bytes never enter the page cache: one copy into a reused aligned buffer, a
direct write, a direct read of each group's bytes into the reduce task's memory.

So a local staged file is not an Arrow IPC *file* (whose batches are found through a footer) but two
Arrow IPC *streams* back to back, with every group's record batch at a byte range the stage task
records (``Part``):

* the head: a stream of the staged schema (its metadata: the lineage source id and first row, see
  stage_write.py) holding one empty batch, whose dictionary messages carry each dictionary column's
  values; then the first messages of a second stream, of the same columns with each dictionary
  column as its indices;
* one record batch message of that second stream per group, in group order.

The reduce step reads a file's head once (``read_head``), then each group's message by itself
(``read_parts``) and gives the dictionary columns their values back: the batches are those the stage
step staged, column for column. A filesystem that refuses ``O_DIRECT`` (tmpfs before Linux 6.6, some
network filesystems) gets ordinary reads and writes of the same bytes (directwrite.py)."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from .directwrite import ALIGN
from .oserrors import STAGED_READ_ERRORS, staged_read_error

_DIRECT = getattr(os, "O_DIRECT", 0)


class Part(NamedTuple):
    """Where one group's record batch sits in a local staged file: the file's head is bytes
    ``[0, head)``, the batch's message bytes ``[start, end)``."""
    head: int
    start: int
    end: int


@dataclass(frozen=True)
class Head:
    """A staged file's head, parsed: its schema (with the lineage metadata), the schema its group
    messages are read with (dictionary columns as indices) and each dictionary column's values."""
    schema: pa.Schema
    plain: pa.Schema
    dictionaries: dict[int, pa.Array]


def _plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with each dictionary column replaced by its indices, no schema metadata."""
    arrays = [c.indices if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with each dictionary column as its indices (the metadata kept)."""
    return pa.schema([pa.field(f.name, f.type.index_type, f.nullable) if pa.types.is_dictionary(f.type) else f
                      for f in schema], metadata=schema.metadata)


def serialize(batch: pa.RecordBatch, counts: list[int], sink) -> tuple[int, list[int]]:
    """Write the staged file of ``batch`` (ordered by group, ``counts`` rows per group) to ``sink``;
    returns the head's length and where each group's message ends (the first starts at the head's end).
    Deterministic: a ``pa.MockOutputStream`` pass gives the exact size and offsets of the real one."""
    with pa.ipc.new_stream(sink, batch.schema) as writer:   # the head: schema, dictionaries, empty batch
        writer.write_batch(batch.slice(0, 0))
    plain = _plain(batch)
    writer = pa.ipc.new_stream(sink, plain.schema)
    writer.write_batch(plain.slice(0, 0))   # the stream's schema message goes in the head
    head, ends, offset = sink.tell(), [], 0
    for count in counts:
        writer.write_batch(plain.slice(offset, count))
        ends.append(sink.tell())
        offset += count
    writer.close()
    return head, ends


def aligned_buffer(size: int) -> np.ndarray:
    """A uint8 array of ``size`` bytes whose first byte is at an ALIGN boundary, from Arrow's allocator
    (which keeps freed memory for reuse, allocator.py: no fresh pages for every group read)."""
    raw = np.frombuffer(pa.allocate_buffer(size + ALIGN), np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + size]


def open_direct(path: str) -> int:
    """A read-only descriptor of ``path``, past the page cache where the filesystem allows it."""
    if _DIRECT:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC | _DIRECT)
        except OSError as exc:
            if exc.errno != errno.EINVAL:   # O_DIRECT refused here; anything else is the caller's to report
                raise
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def _read_range(path: str, view: memoryview, offset: int, need: int) -> None:
    """Read ``need`` bytes or more of ``path`` at ``offset`` into ``view`` (a short read: the file's end)."""
    fd = open_direct(path)
    try:
        done = 0
        while done < need:
            try:
                n = os.preadv(fd, [view[done:]], offset + done)
            except OSError as exc:
                if exc.errno != errno.EINVAL or not fcntl.fcntl(fd, fcntl.F_GETFL) & _DIRECT:
                    raise
                os.close(fd)   # a direct read refused after a direct open: read it plainly
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                continue
            if n <= 0:
                raise EOFError(f"it ends at byte {offset + done}, expected at least {offset + need}")
            done += n
    finally:
        os.close(fd)


def _read_ranges(ranges: list[tuple[str, int, int]]) -> tuple[np.ndarray, list[int]]:
    """The bytes ``[start, end)`` of each (path, start, end), read into one aligned buffer (each range
    widened to ALIGN boundaries, as direct reads require); returns the buffer and where each range's
    first byte sits in it. Each file is opened for its read only: a run with thousands of staged files
    never holds more than one descriptor here."""
    spans = [(path, start - start % ALIGN, -(-end // ALIGN) * ALIGN) for path, start, end in ranges]
    buffer = aligned_buffer(sum(e - s for _, s, e in spans) or ALIGN)
    at, where = 0, []
    view = memoryview(buffer)
    for (path, start, end), (_, s, e) in zip(ranges, spans):
        try:
            _read_range(path, view[at:at + e - s], s, end - s)
        except (OSError, EOFError) as exc:
            raise staged_read_error(exc, path) from None
        where.append(at + start - s)
        at += e - s
    return buffer, where


def read_head(path: str, length: int) -> Head:
    buffer, (at,) = _read_ranges([(path, 0, length)])
    try:
        reader = pa.ipc.open_stream(pa.py_buffer(buffer[at:at + length]))
        empty = reader.read_next_batch()
        dictionaries = {i: c.dictionary for i, c in enumerate(empty.columns) if pa.types.is_dictionary(c.type)}
        return Head(reader.schema, plain_schema(reader.schema), dictionaries)
    except STAGED_READ_ERRORS as exc:   # bytes that are not what was staged
        raise staged_read_error(exc, path) from None


def read_parts(heads: dict[str, Head], parts: list[tuple[str, Part]]) -> list[pa.RecordBatch]:
    """The staged batches at ``parts`` ((path, Part) each), read with one direct read per part; a
    file's head is read once into ``heads``."""
    for path, part in parts:
        if path not in heads:
            heads[path] = read_head(path, part.head)
    buffer, where = _read_ranges([(path, p.start, p.end) for path, p in parts])
    whole = pa.py_buffer(buffer)
    batches = []
    for (path, part), at in zip(parts, where):
        try:
            batches.append(_parse_part(whole.slice(at, part.end - part.start), heads[path]))
        except STAGED_READ_ERRORS as exc:
            raise staged_read_error(exc, path) from None
    return batches


def _parse_part(data: pa.Buffer, head: Head) -> pa.RecordBatch:
    batch = pa.ipc.read_record_batch(data, head.plain)
    if head.dictionaries:   # the dictionary columns get their values back
        arrays = [pa.DictionaryArray.from_arrays(c, head.dictionaries[i]) if i in head.dictionaries else c
                  for i, c in enumerate(batch.columns)]
        batch = pa.RecordBatch.from_arrays(arrays, schema=head.schema)
    return batch


class DirectReads:
    """Reads of local staged files for the reduce step: each file's head parsed once,
    and the groups' parts read ahead by a thread of its own, in the order the tasks will ask for them
    (``plan``), while at most ``budget`` bytes read ahead wait to be taken. One per reduce task (its
    own groups), or one for the run on the local scheduler (every task's, staged_writes.py): then a
    task's first group is read ahead too, while the tasks before it run."""

    def __init__(self, heads: dict[str, Head] | None = None, budget: int = 256 << 20):
        self.heads = heads if heads is not None else {}
        self.budget = budget
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._order: list[tuple[object, tuple]] = []
        self._position: dict[object, int] = {}
        self._next, self._pending = 0, 0
        self._ahead: dict[object, tuple[Future, int]] = {}

    def plan(self, jobs: list[tuple[object, tuple]]) -> "DirectReads":
        """The (key, slices) of the groups to read, in the order they will be asked for."""
        with self._lock:
            self._order = [(key, slices) for key, slices in jobs if any(isinstance(w, Part) for _, w, _ in slices)]
            self._position = {key: i for i, (key, _) in enumerate(self._order)}
            self._next = 0
            self._fill(-1)
        return self

    def _fetch(self, slices) -> dict[int, pa.RecordBatch]:
        """Slice index -> batch, for the slices of ``slices`` (path, where, rows) that are parts."""
        wanted = [(i, path, where) for i, (path, where, _) in enumerate(slices) if isinstance(where, Part)]
        if not wanted:
            return {}
        batches = read_parts(self.heads, [(path, where) for _, path, where in wanted])
        return {i: batch for (i, _, _), batch in zip(wanted, batches)}

    def _fill(self, must: int) -> None:
        """Start reading planned groups in order: up to position ``must``, then while within the budget
        (called holding the lock)."""
        while self._next < len(self._order):
            key, slices = self._order[self._next]
            size = sum(w.end - w.start for _, w, _ in slices if isinstance(w, Part))
            if self._next > must and self._pending + size > self.budget and self._pending:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datagen-staged-read")
            self._ahead[key] = (self._pool.submit(self._fetch, slices), size)
            self._pending += size
            self._next += 1

    def take(self, key, slices) -> dict[int, pa.RecordBatch]:
        """The parts of the group ``key`` (``slices``): read ahead, or read now when not planned."""
        with self._lock:
            position = self._position.get(key)
            if position is not None:
                self._fill(position)
            future, size = self._ahead.pop(key, (None, 0))
            self._pending -= size
            self._fill(-1)
        return future.result() if future is not None else self._fetch(slices)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._ahead.clear()
