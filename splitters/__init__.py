"""splitters: split larger-than-memory tables into grouped Parquet shards with Dask."""

__all__ = ["SplitConfig", "run_split"]


def __getattr__(name):  # lazy re-exports: `import splitters` loads neither Dask nor pyarrow until needed
    if name == "run_split":
        from .split import run_split

        return run_split
    if name == "SplitConfig":
        from .config import SplitConfig

        return SplitConfig
    raise AttributeError(f"module 'splitters' has no attribute {name!r}")
