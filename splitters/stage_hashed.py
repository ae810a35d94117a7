"""Reading a source once for both of its uses: a local Parquet source that the plan stages as
one unit is read into memory whole, fingerprinted (sha256, in the same task) and decoded from
those bytes. Otherwise the split reads every source twice: once to stage it, once, in a task
of its own, to fingerprint it. The fingerprint is the same sha256 of the same file bytes."""

from __future__ import annotations

import hashlib
import os

import pyarrow as pa


def read_and_hash(path: str) -> tuple[pa.Buffer, str]:
    """(the bytes of local file ``path``, their sha256); hashlib releases the GIL while it hashes.
    The bytes are read into a buffer from Arrow's pool, which reuses freed memory, not into a fresh
    Python ``bytes``: each of those is new address space that the kernel faults in and zeroes page by
    page (measured: a third of reading a 110 MB file was system time)."""
    with open(path, "rb", buffering=0) as fh:
        data = _read_whole(fh, os.fstat(fh.fileno()).st_size)
    return data, hashlib.sha256(memoryview(data)).hexdigest()


def _read_whole(fh, size: int) -> pa.Buffer:
    """Every byte of ``fh`` (opened unbuffered, ``size`` bytes expected): read into one Arrow buffer;
    a file that is not ``size`` bytes long after all (it changed meanwhile) is read as it is now."""
    buf = pa.allocate_buffer(size)
    view, done = memoryview(buf).cast("B"), 0
    while done < size:
        n = fh.readinto(view[done:])
        if not n:
            break
        done += n
    if done == size and not fh.read(1):
        return buf
    fh.seek(0)
    return pa.py_buffer(fh.read())


def hashed_units(sources: list, units: list, schema: pa.Schema, batch_rows: int) -> set[int]:
    """The indices of the units that read their source whole (see the module docstring): a local
    Parquet source planned as a single unit whose file is no bigger than the decoded batch the
    memory plan already allows for (``batch_rows`` staged rows)."""
    from .plan import staged_row_bytes   # plan.py imports the stage step

    per_source: dict[int, list] = {}
    for u in units:
        per_source.setdefault(u.source_id, []).append(u)
    budget = batch_rows * staged_row_bytes(schema)
    chosen = set()
    for src in sources:
        mine = per_source.get(src.id, [])
        if src.format == "parquet" and "://" not in src.url and len(mine) == 1 and src.bytes <= budget:
            chosen.add(mine[0].index)
    return chosen
