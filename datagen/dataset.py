"""Open a finished dataset with pyarrow, using the manifest's shard list."""

from __future__ import annotations

import os
from pathlib import Path

from datagen.contract.manifest import read_manifest
from datagen.contract.shardcheck import ShardChecker

_FLOAT_WORDS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _group_type(pa, column):
    """The Arrow type of a group column as read back: bool/int/float/string columns (derived calendar
    parts included: their manifest type is int32, or string for ``date``) as themselves, anything
    else as the manifest's text."""
    text = column.type
    if text.startswith("dictionary<values="):
        text = text[len("dictionary<values="):].split(",")[0]
    try:
        t = pa.type_for_alias(text)
    except (ValueError, KeyError):
        return pa.string()
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
        return pa.float64() if pa.types.is_floating(t) else t
    return pa.string()


def _partition(pa, pc, name: str, value, dtype):
    if value is None:
        return pc.field(name).is_null()
    if pa.types.is_floating(dtype) and isinstance(value, str):
        value = _FLOAT_WORDS.get(value, value)
    if pa.types.is_string(dtype):
        value = value if isinstance(value, str) else str(value)
    return pc.field(name) == pa.scalar(value, dtype)


def shard_files(directory: str | os.PathLike) -> list[str]:
    """The current version's shard files (absolute local paths, manifest order): what to give DuckDB's
    ``read_parquet([...], hive_partitioning=true)`` or Polars' ``scan_parquet([...])``. A glob such as
    ``DIR/**/*.parquet`` also reads the shards of earlier versions (after ``--append``, ``--overwrite`` or
    ``compact``) until ``datagen vacuum`` deletes them. Nothing is checked here (``arrow_dataset`` checks
    the footers); the list comes from reading and validating ``manifest.json``."""
    from datagen.contract.errors import ConfigError
    from datagen.contract.storage import is_remote

    if is_remote(directory) or str(directory).startswith("file:"):
        raise ConfigError(f"shard_files takes a local dataset directory, got {str(directory)!r}; for a dataset URL "
                          "use arrow_dataset(URL), which reads the listed shards through fsspec")
    directory = Path(os.path.abspath(directory))
    return [str(directory.joinpath(*s.path.split("/"))) for s in read_manifest(directory).shards]


def arrow_dataset(directory: str | os.PathLike, storage_options: dict | None = None):
    """A ``pyarrow.dataset.Dataset`` of the shards the manifest lists, with the group
    columns. Unlike ``pyarrow.dataset.dataset(DIR)``, it needs no directory listing, never
    trips over ``manifest.json``, and takes each shard's group values from the manifest, so
    a null, a NaN and the string ``__HIVE_DEFAULT_PARTITION__`` all read back as themselves."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    from datagen.contract.storage import is_remote

    if is_remote(directory):  # a dataset URL: footers checked by ranged GETs, the files read through fsspec
        import tempfile

        from datagen.contract.remote import RemoteDataset
        from datagen.contract.cachedcheck import CachedShardChecker
        from datagen.contract.shardcache import ShardCache

        remote = RemoteDataset(str(directory), storage_options)
        manifest = remote.read_manifest_with_hash()[0]
        with tempfile.TemporaryDirectory(prefix="datagen-footers-") as tmp:
            cache = ShardCache(remote, tmp, max(s.bytes for s in manifest.shards))
            cache.prefetch_footers(manifest.shards)
            checker = CachedShardChecker(cache, manifest)
            metas = [checker.check(s, "footer")[0] for s in manifest.shards]
        files = [f"{remote.root}/{s.path}" for s in manifest.shards]
        filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(remote.fs))
        file_schema = metas[0].schema.to_arrow_schema().remove_metadata()
    else:
        directory = Path(directory)
        manifest = read_manifest(directory)
        checker = ShardChecker(directory, manifest)  # real paths inside DIR, regular files of the listed size, footers as listed
        files = [checker.locate(s) for s in manifest.shards]
        for shard, real in zip(manifest.shards, files):  # the footer must match the manifest, as for the generator
            checker.read_footer(shard, real)
        filesystem = pafs.LocalFileSystem()
        file_schema = pq.read_schema(files[0]).remove_metadata() if files else pa.schema([])
    types = {c.name: _group_type(pa, c) for c in manifest.group_columns}
    schema = pa.schema(list(file_schema) + [pa.field(n, t) for n, t in types.items() if n not in file_schema.names])
    partitions = []
    for shard in manifest.shards:
        expr = pc.scalar(True)
        for name, dtype in types.items():
            expr = expr & _partition(pa, pc, name, shard.group.get(name), dtype)
        partitions.append(expr)
    verified = ds.ParquetFileFormat(  # page checksums checked on read, as the generator does
        default_fragment_scan_options=ds.ParquetFragmentScanOptions(page_checksum_verification=True))
    return ds.FileSystemDataset.from_paths(files, schema=schema, format=verified,
                                           filesystem=filesystem, partitions=partitions)
