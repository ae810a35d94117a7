"""Finding input files (local paths, globs, directories, fsspec URLs), reading
their schemas (unify.py merges them) and opening them for streaming reads."""

from __future__ import annotations

import datetime as _dt
import lzma
import os
import zlib
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from datagen.contract.errors import DatagenError, OutputError, SchemaError, SourceError
from datagen.contract.format import SourceStamp
from datagen.contract.hashing import sha256_file
from datagen.contract.storage import open_url, url_fs
from .source_versions import version_id

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zst")
GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class SourceFile:
    id: int
    url: str          # absolute local path, or a URL with its protocol
    format: str       # "parquet" | "csv"
    bytes: int
    mtime: str | None
    etag: str | None
    version: str | None = None   # the object's VersionId in a versioned bucket (source_versions.py)

    @property
    def name(self) -> str:
        return self.url

    @property
    def stamp(self) -> SourceStamp:
        return SourceStamp(self.url, self.bytes, self.mtime, self.etag, self.version)


def source_format(path: str) -> str | None:
    low = path.lower()
    if low.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if low.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def _check_decompressor(url: str) -> None:
    """A compressed CSV whose decompressor is not installed is refused by name (fsspec would hand
    its compressed bytes to the CSV parser): ``.csv.zst`` needs the ``zstandard`` package."""
    from fsspec.utils import infer_compression

    if url.lower().endswith(".zst") and infer_compression(url) is None:
        raise SourceError(f"input {url!r} is zstd-compressed but the Python package 'zstandard' is not installed; "
                          "install it (pip install zstandard) or decompress the file (zstd -d)")


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


def _broken_link(name: str, path: str) -> SourceError:
    return SourceError(f"input {name!r} is a broken symbolic link (to {os.readlink(path)!r}, "
                       "which does not exist or loops back)")


def _identity(fs: fsspec.AbstractFileSystem, path: str, url: str) -> object:
    """What makes two spellings the same file: device and inode locally (symlinks, ``..``,
    hard links), the URL elsewhere."""
    if not isinstance(fs, LocalFileSystem):
        return url
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise _broken_link(url, path) from None
        raise SourceError(f"input {url!r}: no such file") from None
    except OSError as exc:  # a symlink loop, a permission problem on the way, ...
        raise SourceError(f"input {url!r}: cannot open: {exc.strerror or exc}") from None
    return (st.st_dev, st.st_ino)


def _expand(given: str) -> tuple[fsspec.AbstractFileSystem, list[str]]:
    try:
        fs, path = url_fs(given)
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
    elif isinstance(fs, LocalFileSystem) and os.path.islink(path):
        raise _broken_link(given, path)
    else:
        raise SourceError(f"input {given!r}: no such file or directory")
    return fs, matches


def discover(inputs: list[str]) -> list[SourceFile]:
    """Expand inputs into a sorted list of source files, each read once: the same file given
    twice, through a symlink or as ``a/../a/x`` is kept once (its first spelling)."""
    found: dict[str, tuple[fsspec.AbstractFileSystem, str, str]] = {}
    seen: set = set()
    for given in inputs:
        try:
            fs, matches = _expand(given)
        except DatagenError:
            raise
        except Exception as exc:  # OSError, or a remote filesystem's own error (credentials, network)
            detail = getattr(exc, "strerror", None) or " ".join(str(exc).split()) or type(exc).__name__
            raise SourceError(f"input {given!r}: cannot list: {detail}") from None
        for m in matches:
            fmt = source_format(m)
            if fmt is None:
                raise SourceError(f"input {_url(fs, m)!r}: unknown format (expected .parquet, .csv, .csv.gz, .csv.bz2, .csv.xz or .csv.zst)")
            if fmt == "csv":
                _check_decompressor(_url(fs, m))
            key = _identity(fs, m, _url(fs, m))
            if key in seen:
                continue
            seen.add(key)
            found.setdefault(_url(fs, m), (fs, m, fmt))
    sources, versioned = [], {}
    for i, url in enumerate(sorted(found)):
        fs, path, fmt = found[url]
        try:
            info = fs.info(path)
        except Exception as exc:
            raise read_error(url, exc) from None
        if info.get("type") == "directory":
            raise SourceError(f"input {url!r} is a directory named like a data file; give the files inside it")
        size = int(info.get("size") or 0)
        if size == 0:
            raise SourceError(f"input {url!r} is empty (0 bytes)")
        mtime, etag = _stamp(info)
        sources.append(SourceFile(i, url, fmt, size, mtime, etag, version_id(fs, path, info, versioned)))
    return sources


def open_binary(url: str):
    """A readable binary file object; compressed CSV is decompressed by suffix (zstd by zstdstream.py,
    which refuses a file cut short inside a frame)."""
    if url.lower().endswith(".zst"):
        from .zstdstream import open_zstd

        return open_zstd(open_url(url), url)
    return open_url(url, compression="infer")


def parquet_file(url: str) -> pq.ParquetFile:
    if "://" not in url:
        return pq.ParquetFile(url)
    return pq.ParquetFile(open_url(url))


READ_ERRORS = (pa.ArrowException, OSError, EOFError, UnicodeError, zlib.error, lzma.LZMAError)
from .oserrors import NO_SPACE  # noqa: E402  (one list of 'disk full' errors)


def read_error(url: str, exc: BaseException) -> DatagenError:
    """A one-line error naming ``url`` for an exception raised while reading it (a full
    disk while writing the staged copy is an OutputError, not the input's fault)."""
    if isinstance(exc, DatagenError):
        return exc
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and (exc.errno in NO_SPACE or "No space left" in detail):
        where = exc.filename or "the staging directory"
        return OutputError(f"no space left on the device writing {where} (while staging {url!r})")
    if isinstance(exc, (EOFError, zlib.error, lzma.LZMAError)) or "end-of-stream" in detail \
            or type(exc).__name__ in ("BadGzipFile", "ZstdError"):
        return SourceError(f"input {url!r} is truncated or corrupt (its compressed data cannot be decompressed: {detail})")
    if isinstance(exc, UnicodeError) or "invalid UTF8" in detail or "\ufffd" in detail:
        codec = getattr(exc, "encoding", None) if isinstance(exc, UnicodeError) else "UTF-8"
        codec = None if codec in ("charmap", None) else codec   # Python names every 8-bit codebook 'charmap'
        if codec is None or codec.replace("-", "").lower() != "utf8":   # an --encoding was given and fails
            what = f"{codec} text, the --encoding given" if codec else "text in the --encoding given"
            return SourceError(f"input {url!r}: cannot read: not {what} ({detail}); pass "
                               "the file's own encoding with --encoding (latin-1 decodes any byte)")
        return SourceError(f"input {url!r}: cannot read: not UTF-8 text ({detail}); pass its encoding, "
                           "e.g. --encoding latin-1 (or cp1252 for an Excel export)")
    return SourceError(f"input {url!r}: cannot read: {detail}")


def fingerprint(url: str) -> str:
    """The sha256 of input ``url``; a failed read (a bucket refusing it, a file gone) is one line naming it."""
    try:
        return sha256_file(url)
    except READ_ERRORS as exc:
        raise read_error(url, exc) from None


def check_names(src: SourceFile, names: list[str]) -> None:
    """Every column named, and each name once."""
    empty = next((i for i, n in enumerate(names) if not n.strip()), None)
    if empty is not None:
        why = ("a leading comma: the index column pandas' to_csv writes; write with index=False or name the "
               "column" if empty == 0 else "a trailing comma in the CSV header?" if empty == len(names) - 1
               else "two commas in a row in the CSV header?")
        why = f" ({why})" if src.format == "csv" and not names[empty] else ""
        what = "an empty name" if not names[empty] else f"a blank name ({names[empty]!r}, white space only)"
        raise SchemaError(f"input {src.url!r}: column {empty + 1} has {what}{why}; name every column")
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise SchemaError(f"input {src.url!r} has the column name {twice!r} more than once; "
                          "rename the columns so that each name is unique")


def read_schema(src: SourceFile) -> pa.Schema:
    """The Arrow schema of one Parquet source (a CSV source's comes from its first pass, csvtypes.py)."""
    try:
        schema = parquet_file(src.url).schema_arrow
    except DatagenError:
        raise
    except Exception as exc:  # any failure to read a source names the source
        raise read_error(src.url, exc) from None
    check_names(src, schema.names)
    return schema


