"""A dataset in object storage (``s3://bucket/prefix``), read through fsspec.

:class:`RemoteDataset` reads ``manifest.json`` with one GET (no listing, no per-shard request),
fetches a shard's Parquet footer with one ranged GET of the file's tail (its size comes from the
manifest, so no HEAD), and downloads a whole shard into a local file, checking its size and sha256
against the manifest before anyone may use it. Every backend error becomes one line naming the URL
(storage.py).
"""

from __future__ import annotations

import hashlib
import os

from .errors import ConfigError, ManifestError, ShardError
from .format import MANIFEST_NAME, Manifest, ShardEntry
from .manifest import decode_manifest, manifest_from_dict
from .storage import join, remote_fs, storage_error

FOOTER_TAIL = 64 << 10   # bytes fetched from a shard's end for its footer (a second GET if larger)
CHUNK = 8 << 20


class RemoteDataset:
    """``url`` (a dataset prefix) opened with ``storage_options``; picklable (fsspec filesystems are)."""

    def __init__(self, url: str, storage_options: dict | None = None):
        self.url = url.rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.fs, self.root = remote_fs(self.url, self.storage_options)
        self.root = self.root.rstrip("/")
        # s3fs asks for the size (a HEAD) before a whole-object GET unless told to use one request
        self._one_get = {"max_concurrency": 1} if hasattr(self.fs, "max_concurrency") else {}

    def shard_url(self, shard: ShardEntry) -> str:
        return join(self.url, shard.path)

    def read_manifest_with_hash(self) -> tuple[Manifest, str]:
        """The manifest (one GET) and the sha256 of its bytes."""
        where = join(self.url, MANIFEST_NAME)
        try:
            raw = self.fs.cat_file(join(self.root, MANIFEST_NAME), **self._one_get)
        except FileNotFoundError as exc:
            if "bucket" in str(exc).lower():
                raise storage_error(exc, self.url, "dataset", ManifestError) from None
            raise ManifestError(f"{where!r} not found: {self.url!r} is not a finished dataset "
                                "(the splitter writes the manifest last)") from None
        except Exception as exc:
            raise storage_error(exc, self.url, "dataset", ManifestError) from None
        data = decode_manifest(raw, repr(where))
        return manifest_from_dict(data, origin=where), hashlib.sha256(raw).hexdigest()

    def footer_bytes(self, shard: ShardEntry) -> bytes:
        """The shard's footer as a minimal Parquet tail (``PAR1`` + footer + length + ``PAR1``),
        readable by ``pyarrow.parquet.read_metadata``; one ranged GET (two for a huge footer)."""
        path = join(self.root, shard.path)
        size = shard.bytes
        try:
            tail = self.fs.cat_file(path, start=max(0, size - FOOTER_TAIL), end=size)
            if len(tail) < size - max(0, size - FOOTER_TAIL):  # the object ends before the manifest's size
                self._size_mismatch(shard)
            if len(tail) < 8 or tail[-4:] != b"PAR1":
                raise ShardError(f"shard {shard.path!r} at {self.shard_url(shard)!r} is not a Parquet file "
                                 "(no footer magic)")
            length = int.from_bytes(tail[-8:-4], "little")
            if length + 8 > len(tail):
                if length + 8 > size:
                    raise ShardError(f"shard {shard.path!r}: footer length {length:,} exceeds the file")
                tail = self.fs.cat_file(path, start=size - length - 8, end=size)
        except ShardError:
            raise
        except FileNotFoundError:
            raise ShardError(f"shard {shard.path!r} is missing: no object at {self.shard_url(shard)!r}") from None
        except Exception as exc:
            self._size_mismatch(shard)
            raise storage_error(exc, self.shard_url(shard), "shard", ShardError) from None
        return b"PAR1" + tail[-(length + 8):]

    def footer_pack(self, manifest: Manifest) -> list[bytes]:
        """Every shard's footer tail from the pack the manifest names (ranged GETs of CHUNK bytes: one
        for any pack below 8 MiB), checked against the manifest's size and sha256 before use."""
        from .footerpack import parse

        return parse(self.footer_pack_bytes(manifest), manifest, join(self.url, manifest.footer_pack.path))

    def footer_pack_bytes(self, manifest: Manifest) -> bytes:
        """The raw pack the manifest names, checked against the manifest's size and sha256."""
        pack = manifest.footer_pack
        url, path = join(self.url, pack.path), join(self.root, pack.path)
        try:
            blocks = list(self._chunks(path, pack.bytes))
        except FileNotFoundError:
            raise ManifestError(f"footer pack {url!r} is missing; run 'datagen verify', or re-run the split with --overwrite") from None
        except Exception as exc:
            raise storage_error(exc, url, "footer pack", ManifestError) from None
        raw = b"".join(blocks)
        size = len(raw)
        if size != pack.bytes or hashlib.sha256(raw).hexdigest() != pack.sha256:
            what = f"{size:,} bytes, manifest says {pack.bytes:,}" if size != pack.bytes else \
                f"sha256 {hashlib.sha256(raw).hexdigest()[:12]}..., manifest says {pack.sha256[:12]}..."
            raise ManifestError(f"footer pack {url!r} changed: it has {what} (corrupted or rewritten; "
                                "re-run the split with --overwrite)")
        return raw

    def _chunks(self, path: str, total: int):
        """Bytes 0..``total`` of the object at ``path`` as ranged GETs of CHUNK bytes (the manifest
        gives ``total``: no HEAD); ends early when the object does (the caller compares sizes)."""
        size = 0
        while size < total:
            block = self.fs.cat_file(path, start=size, end=min(size + CHUNK, total))
            if not block:
                return
            yield block
            size += len(block)

    def _size_mismatch(self, shard: ShardEntry) -> None:
        """After a failed ranged GET (e.g. "range not satisfiable" on a truncated object): one HEAD, and
        a ShardError naming both sizes when the object's size is not the manifest's."""
        try:
            path = join(self.root, shard.path)
            self.fs.invalidate_cache(path)  # a listing cached earlier in this process may hold the old size
            size = int(self.fs.info(path)["size"])
        except Exception:
            return  # the original error is reported
        if size != shard.bytes:
            raise ShardError(f"shard {shard.path!r} changed: the object at {self.shard_url(shard)!r} has "
                             f"{size:,} bytes, manifest says {shard.bytes:,}") from None

    def download(self, shard: ShardEntry, dest: str) -> None:
        """Write the shard to the local file ``dest`` (which the caller renames into place), checking
        size and sha256 against the manifest; a mismatch is a one-line ShardError naming the shard."""
        url = self.shard_url(shard)
        digest, size = hashlib.sha256(), 0
        try:
            # "r+b": a file the caller sized in advance (a cache's reservation) keeps its size while it fills
            mode = "r+b" if os.path.exists(dest) else "wb"
            path = join(self.root, shard.path)
            with open(dest, mode) as out:  # ranged GETs of the manifest's size: no HEAD, no listing
                for block in self._chunks(path, shard.bytes):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
        except FileNotFoundError:
            raise ShardError(f"shard {shard.path!r} is missing: no object at {url!r}") from None
        except OSError as exc:
            if exc.filename == dest or (exc.errno is not None and exc.errno in (28, 122)):
                raise ShardError(f"cannot write the cached copy of shard {shard.path!r} to {dest!r}: "
                                 f"{exc.strerror or exc}") from None
            self._size_mismatch(shard)
            raise storage_error(exc, url, "shard", ShardError) from None
        except Exception as exc:
            self._size_mismatch(shard)
            raise storage_error(exc, url, "shard", ShardError) from None
        if size != shard.bytes:
            raise ShardError(f"shard {shard.path!r} changed: the object at {url!r} has "
                             f"{'more than ' if size > shard.bytes else ''}{size:,} bytes, manifest says "
                             f"{shard.bytes:,}")
        if digest.hexdigest() != shard.sha256:
            raise ShardError(f"shard {shard.path!r} changed: the object at {url!r} has sha256 "
                             f"{digest.hexdigest()[:12]}..., manifest says {shard.sha256[:12]}... "
                             "(corrupted or rewritten; re-run the split with --overwrite)")


def check_remote_version(url: str, wanted: int | None, current: int, name: str, leave_out: str) -> None:
    """An object-store dataset serves only its current version: a one-line ConfigError for any other
    (``name`` is how the caller spells the option, e.g. ``--version`` or ``version=``)."""
    if wanted is None or wanted == current:
        return
    if wanted > current:
        raise ConfigError(f"{name}{wanted}: version {wanted} does not exist: {url!r} holds version {current} "
                          "(reading other versions of an object-store dataset is not supported yet)")
    raise ConfigError(f"{name}{wanted}: {url!r} holds version {current}, and reading an older version of an "
                      f"object-store dataset is not supported yet; {leave_out}")


def dataset_name(directory) -> str:
    return str(directory) if "://" in str(directory) else os.fspath(directory)
