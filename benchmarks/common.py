"""Shared helpers for the benchmarks: the synthetic table, subprocess timing with peak RSS, medians."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
ROOT = HERE.parent


def ensure_table(files: int = 20, rows_per_file: int = 1_000_000, name: str | None = None,
                 root: Path | None = None) -> Path:
    """Generate (or reuse) the benchmark table: ``files`` Parquet files of ``rows_per_file`` rows
    (under ``root``, default benchmarks/data/)."""
    from datagen.app.sample import write_sample

    d = (root or DATA) / (name or f"table-{files}x{rows_per_file}")
    done = d / ".complete"
    if not done.exists():
        t0 = time.perf_counter()
        write_sample(d, files=files, rows_per_file=rows_per_file, seed=2024, features=16)
        done.write_text("ok\n")
        print(f"generated {d} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return d


def run_measured(code: str, env: dict | None = None, cwd: Path | str = ROOT) -> dict:
    """Run Python ``code`` in a fresh interpreter (in ``cwd``, ``env`` added to the environment); ``code`` must
    set ``RESULT`` (a dict), which is printed as the last JSON line with the measures.
    Adds wall seconds, CPU seconds (user + system, of the process and its children) and the peak RSS (MB) of that process: VmHWM from /proc, which starts
    afresh at exec (getrusage's ru_maxrss would inherit the parent's peak across fork+exec)."""
    wrapper = (
        "import json, sys, time\n"
        "t0 = time.perf_counter()\n"
        f"{code}\n"
        "wall = time.perf_counter() - t0\n"
        "rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024\n"
        "import resource\n"
        "cpu = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)\n"
        "          for f in ('ru_utime', 'ru_stime'))\n"
        "print(json.dumps({'wall': wall, 'rss_mb': rss, 'cpu': cpu, **RESULT}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def settle() -> None:
    """Flush dirty pages between runs, so that one contender's output being written back to
    disk does not slow the next one down."""
    os.sync()
    time.sleep(1.0)


def warm(directory: Path) -> float:
    """Read every file under ``directory`` through the page cache (seconds taken), so that each contender
    starts with the input table as cached as the machine's memory allows, whatever the run before it
    left: DuckDB's ~14 GB at 100M rows pushed ~2.7 GB of the table out of the cache before each of our
    runs, while ours (staged and shard files written past the cache) left it whole for DuckDB's."""
    t0 = time.perf_counter()
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        with open(path, "rb", buffering=0) as fh:
            while fh.read(8 << 20):
                pass
    return time.perf_counter() - t0


def cold(directory: Path) -> float:
    """Drop every file under ``directory`` from the page cache (``posix_fadvise(DONTNEED)``: no root
    needed, unlike /proc/sys/vm/drop_caches, and only these files); returns the fraction of their bytes
    still cached after (``cached_fraction``). Dirty pages are not dropped: call it after ``settle`` (a
    sync). The host under a VM may still cache them: a cold run here reads the virtual disk, whatever
    that holds."""
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return cached_fraction(directory)


def cached_fraction(directory: Path) -> float:
    """The fraction of the bytes of the files under ``directory`` in the page cache (``mincore``)."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    page = mmap.PAGESIZE
    cached = total = 0
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        size = path.stat().st_size
        if not size:
            continue
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_COPY) as mm:
            pages = -(-size // page)
            vec = (ctypes.c_ubyte * pages)()
            anchor = ctypes.c_char.from_buffer(mm)   # the mapping's address (released before it closes)
            try:
                if libc.mincore(ctypes.c_void_p(ctypes.addressof(anchor)), ctypes.c_size_t(size), vec) != 0:
                    raise OSError(ctypes.get_errno(), f"mincore {path}")
            finally:
                del anchor
            cached += sum(v & 1 for v in vec)
            total += pages
    return cached / total if total else 0.0


def median(values):
    return statistics.median(values)
