"""splitters: split larger-than-memory tables into grouped Parquet shards with Dask."""

from .allocator import keep_freed_memory

keep_freed_memory()   # before pyarrow loads: see allocator.py

from .config import SplitConfig  # noqa: E402

__all__ = ["SplitConfig", "run_split"]


def __getattr__(name):  # lazy re-export: keeps Dask out of `import splitters` until needed
    if name == "run_split":
        from .split import run_split

        return run_split
    raise AttributeError(f"module 'splitters' has no attribute {name!r}")
