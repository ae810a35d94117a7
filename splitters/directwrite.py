"""Writing a finished shard file to local disk past the page cache (``O_DIRECT``), when the
filesystem allows it, else by an ordinary write.

A shard is encoded in memory (its sha256 is taken from those bytes) and written once; nothing in
the split reads it back. An ordinary write copies every byte into fresh page-cache pages, and on
the 2-core VM the first touch of a fresh page is what costs: perf put a quarter of the split's
CPU time in that copy (about 2 s per GB written; a rewrite of recycled pages costs a tenth). A
direct write hands the bytes to the disk as they are when they start at a page boundary (mimalloc,
Arrow's allocator here, hands out large buffers there), else from an aligned buffer this thread
reuses, so the copy and the fresh pages go. The file's bytes are the same either way: the whole blocks are written from an
aligned buffer, the last partial block by an ordinary write.

Any filesystem that refuses ``O_DIRECT`` or its alignment (``EINVAL``, as tmpfs before Linux 6.6,
network and FUSE filesystems may) gets the ordinary write; other errors (a full disk) are raised
as they are, for the caller to report."""

from __future__ import annotations

import errno
import fcntl
import os
import threading

import numpy as np

ALIGN = 4096            # the block size direct writes are aligned to (a multiple of every common one)
CHUNK = 8 << 20         # bytes per write call
_DIRECT = getattr(os, "O_DIRECT", 0)
_local = threading.local()


def write_file(path: str, data) -> None:
    """Create (or replace) ``path`` holding exactly the bytes of ``data`` (a buffer). An error of the
    write itself (a file too large, EIO) is raised naming ``path``, as ``open`` does, so the split
    can say which output file failed (oserrors.output_error)."""
    try:
        if _DIRECT and len(memoryview(data)) >= ALIGN and _write_direct(path, data):
            return
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), path) from None


def _aligned() -> memoryview:
    """A writable CHUNK-byte buffer at an ALIGN-aligned address, reused by this thread (its pages are
    touched once, not faulted in afresh for every shard)."""
    held = getattr(_local, "buffer", None)
    if held is None:
        raw = np.empty(CHUNK + ALIGN, np.uint8)
        start = -raw.ctypes.data % ALIGN
        held = _local.buffer = memoryview(raw[start:start + CHUNK].data).cast("B")
        _local.raw = raw
    return held


def _address(data) -> int:
    """Where ``data``'s first byte is in memory (-1: unknown, never taken as aligned)."""
    address = getattr(data, "address", None)   # a pyarrow Buffer
    if address is None:
        try:
            address = np.frombuffer(data, np.uint8).ctypes.data
        except (TypeError, ValueError):
            return -1
    return address


def _write_direct(path: str, data) -> bool:
    """Write ``data`` to ``path``: its whole blocks with O_DIRECT, a CHUNK at a time through the aligned
    buffer, then the last partial block by an ordinary write (O_DIRECT cleared on the descriptor; a
    padded block cut off by ftruncate cost milliseconds per file on ext4). False when the filesystem
    refuses O_DIRECT (the caller then writes the file plainly, replacing what is there)."""
    view = memoryview(data).cast("B")
    size = len(view)
    whole = size - size % ALIGN
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _DIRECT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return False
        raise
    try:
        # bytes at a page boundary go to the disk as they are (no copy); others through the aligned buffer
        buf = None if _address(data) % ALIGN == 0 else _aligned()
        for start in range(0, whole, CHUNK):
            n = min(CHUNK, whole - start)
            if buf is None:
                block = view[start:start + n]
            else:
                buf[:n] = view[start:start + n]
                block = buf[:n]
            done = 0
            while done < n:
                done += os.write(fd, block[done:n])
        if whole < size:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_DIRECT)
            done = whole
            while done < size:
                done += os.write(fd, view[done:size])
    except OSError as exc:
        if exc.errno == errno.EINVAL:   # the flag or the alignment refused after all: write it plainly
            return False
        raise
    finally:
        os.close(fd)
    return True


class ShardWrites:
    """Shard files written by one background thread while the task encodes the next (a direct write
    waits for the disk: done in the task's own thread, that wait left a core idle). At most
    ``pending`` writes are in flight (their bytes held); leaving waits for every write and raises
    the first error, so no file is still being written when the caller moves on or cleans up."""

    def __init__(self, pending: int = 4):
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shard-write")
        self._pending: list = []
        self._limit = pending

    def submit(self, path: str, data) -> None:
        self._pending.append(self._pool.submit(write_file, path, data))
        while len(self._pending) > self._limit:
            self._pending.pop(0).result()

    def __enter__(self) -> "ShardWrites":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            for future in self._pending:
                error = future.exception()   # waits
                if error is not None and kind is None:
                    raise error
        finally:
            self._pool.shutdown(wait=True)
