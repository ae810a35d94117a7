"""Finding input files (local paths, globs, directories, fsspec URLs), reading
their schemas, checking they agree, and opening them for streaming reads."""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from datagen.errors import SchemaError, SourceError

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zst")
GLOB_CHARS = set("*?[")
CSV_SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True)
class SourceFile:
    id: int
    url: str          # absolute local path, or a URL with its protocol
    format: str       # "parquet" | "csv"
    bytes: int
    mtime: str | None
    etag: str | None

    @property
    def name(self) -> str:
        return self.url


def source_format(path: str) -> str | None:
    low = path.lower()
    if low.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if low.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def _url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    if isinstance(fs, LocalFileSystem):
        return os.path.abspath(path)
    return fs.unstrip_protocol(path)


def _stamp(info: dict) -> tuple[str | None, str | None]:
    mtime = info.get("mtime") or info.get("LastModified") or info.get("last_modified") or info.get("created")
    if isinstance(mtime, (int, float)):
        mtime = _dt.datetime.fromtimestamp(mtime, tz=_dt.timezone.utc).isoformat()
    elif isinstance(mtime, _dt.datetime):
        mtime = mtime.isoformat()
    elif mtime is not None:
        mtime = str(mtime)
    etag = info.get("ETag") or info.get("etag")
    return mtime, (str(etag).strip('"') if etag else None)


def discover(inputs: list[str]) -> list[SourceFile]:
    """Expand inputs into a sorted, de-duplicated list of source files."""
    found: dict[str, tuple[fsspec.AbstractFileSystem, str, str]] = {}
    for given in inputs:
        try:
            fs, path = fsspec.core.url_to_fs(given)
        except (ValueError, ImportError) as exc:
            raise SourceError(f"input {given!r}: cannot open this location ({exc})") from None
        if GLOB_CHARS & set(path):
            matches = [m for m in sorted(fs.glob(path)) if not fs.isdir(m)]
            if not matches:
                raise SourceError(f"input {given!r}: no file matches this pattern")
        elif fs.isdir(path):
            matches = sorted(p for p in fs.find(path) if source_format(p))
            if not matches:
                raise SourceError(f"input {given!r}: directory holds no .csv, .csv.gz or .parquet file")
        elif fs.exists(path):
            matches = [path]
        else:
            raise SourceError(f"input {given!r}: no such file or directory")
        for m in matches:
            fmt = source_format(m)
            if fmt is None:
                raise SourceError(f"input {_url(fs, m)!r}: unknown format (expected .csv, .csv.gz or .parquet)")
            found.setdefault(_url(fs, m), (fs, m, fmt))
    sources = []
    for i, url in enumerate(sorted(found)):
        fs, path, fmt = found[url]
        info = fs.info(path)
        size = int(info.get("size") or 0)
        if size == 0:
            raise SourceError(f"input {url!r} is empty (0 bytes)")
        mtime, etag = _stamp(info)
        sources.append(SourceFile(i, url, fmt, size, mtime, etag))
    return sources


def open_binary(url: str):
    """A readable binary file object; compressed CSV is decompressed by suffix."""
    return fsspec.open(url, "rb", compression="infer").open()


def parquet_file(url: str) -> pq.ParquetFile:
    if "://" not in url:
        return pq.ParquetFile(url)
    return pq.ParquetFile(fsspec.open(url, "rb").open())


def csv_reader(fh, url: str, column_types: dict[str, pa.DataType] | None, block_size: int) -> pacsv.CSVStreamingReader:
    """A streaming CSV reader over an open binary file ``fh`` (``url`` names it in errors)."""
    try:
        return pacsv.open_csv(
            fh,
            read_options=pacsv.ReadOptions(block_size=block_size),
            convert_options=pacsv.ConvertOptions(column_types=column_types or {}),
        )
    except pa.ArrowInvalid as exc:
        raise SourceError(f"input {url!r}: cannot read as CSV: {exc}") from None


def read_schema(src: SourceFile, time_column: str, time_unit: str | None) -> pa.Schema:
    """The Arrow schema of one source, as it will be read."""
    try:
        if src.format == "parquet":
            return parquet_file(src.url).schema_arrow
        with open_binary(src.url) as fh:
            schema = csv_reader(fh, src.url, None, CSV_SAMPLE_BYTES).schema
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"input {src.url!r}: cannot read: {str(exc).splitlines()[0]}") from None
    # The CSV time column is read as text (we parse it) unless it is epoch numbers.
    idx = schema.get_field_index(time_column)
    if idx >= 0 and not (time_unit and pa.types.is_integer(schema.field(idx).type) or
                         time_unit and pa.types.is_floating(schema.field(idx).type)):
        schema = schema.set(idx, pa.field(time_column, pa.string()))
    return schema


def _unify_csv(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    nums = (pa.types.is_integer, pa.types.is_floating)
    if any(f(a) for f in nums) and any(f(b) for f in nums):
        return pa.float64()
    return None


def unified_schema(sources: list[SourceFile], schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for all sources; names the file and column on a mismatch."""
    ref_src, ref = sources[0], schemas[0]
    fields = {f.name: f.type for f in ref}
    for src, schema in zip(sources[1:], schemas[1:]):
        names = schema.names
        missing = [n for n in ref.names if n not in names]
        extra = [n for n in names if n not in ref.names]
        if missing or extra:
            what = f"lacks column {missing[0]!r}" if missing else f"has an extra column {extra[0]!r}"
            raise SchemaError(f"schema mismatch: {src.url!r} {what} (compared with {ref_src.url!r})")
        for f in schema:
            if f.type == fields[f.name]:
                continue
            merged = _unify_csv(fields[f.name], f.type) if "csv" in (src.format, ref_src.format) else None
            if merged is None:
                raise SchemaError(
                    f"schema mismatch: column {f.name!r} is {f.type} in {src.url!r} "
                    f"but {fields[f.name]} in {ref_src.url!r}"
                )
            fields[f.name] = merged
    out = pa.schema([pa.field(n, pa.string() if pa.types.is_null(t) else t) for n, t in fields.items()])
    return out
