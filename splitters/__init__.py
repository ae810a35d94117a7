"""splitters: split larger-than-memory tables into grouped Parquet shards with Dask."""

from .config import SplitConfig

__all__ = ["SplitConfig", "run_split"]


def __getattr__(name):  # lazy re-export: keeps Dask out of `import splitters` until needed
    if name == "run_split":
        from .split import run_split

        return run_split
    raise AttributeError(f"module 'splitters' has no attribute {name!r}")
