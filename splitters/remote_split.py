"""A split whose ``--out`` is in object storage (``s3://bucket/prefix``); see remote_out.py for the
commit rule and the lock.

Staging (the intermediate Arrow files between the stage and the reduce step):
* local scheduler: a local temporary directory (``--staging DIR`` to choose it): staged data
  never crosses the network and a crash leaves nothing in the bucket;
* ``--scheduler tcp://...``: a prefix in the bucket (``<out>/.datagen-staging/``, or ``--staging URL``),
  because the reduce task of a group reads the staged files of every stage task and the workers
  share no disk. A local ``--staging`` with a cluster must be a directory every worker sees.
Either way the run stages in a child of that location only it names and deletes (staging_area.py).
The reduce tasks upload their own shards (``upload_shard``), so the client never reads a
worker's disk. Object-store sources are fingerprinted by their ETag (and VersionId when the
bucket is versioned) instead of being downloaded a second time; the manifest says so
(``fingerprint: "etag"``, and ``sha256`` holds the sha256 of ``etag:<ETag>[:version:<VersionId>]``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import time
from dataclasses import dataclass

from datagen.contract.errors import DatagenError, OutputError
from datagen.contract.format import ShardEntry
from datagen.contract.manifest import render_manifest
from datagen.contract.storage import is_remote, join, options_for, remote_fs, storage_error

from .publish import content_name
from .remote_out import STAGING, RemoteOut


def upload_shard(root_url: str, rel: str, data) -> None:
    """PUT one shard's bytes under its content name below ``root_url`` (one request)."""
    name = content_name(rel, hashlib.sha256(memoryview(data)).hexdigest())
    fs, root = remote_fs(root_url, options_for(root_url))
    try:
        fs.pipe_file(join(root, name), bytes(memoryview(data)))
    except Exception as exc:
        raise storage_error(exc, join(root_url, name), "shard upload to") from None


def _with_options(fn, urls, options, *args, pins=None):
    from .engine import with_options

    return with_options(fn, urls, options, *args, pins=pins)  # in a worker process too: these URLs, this task only


def etag_fingerprint(etag: str, version: str | None = None) -> str:
    text = f"etag:{etag}" + (f":version:{version}" if version else "")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class RemoteTarget:
    url: str
    staging: object          # a local Path-like or a URL string (joined with "/")
    out: RemoteOut
    old: object
    storage_options: dict
    urls: list
    pins: dict = dataclasses.field(default_factory=dict)  # input URL -> (ETag, VersionId, size) as listed

    def task(self, fn):
        """``fn`` wrapped so that a worker process applies --storage-option first."""
        return functools.partial(_with_options, fn, self.urls, self.storage_options, pins=self.pins)

    def known_fingerprints(self, sources) -> dict[int, str]:
        return {s.id: etag_fingerprint(s.etag, getattr(s, "version", None) or getattr(s, "version_id", None))
                for s in sources if is_remote(getattr(s, "url", None) or s.path) and s.etag}

    def shard_schema(self, first: ShardEntry):
        import pyarrow as pa
        import pyarrow.parquet as pq

        entry = dataclasses.replace(first, path=content_name(first.path, first.sha256))
        return pq.read_metadata(pa.BufferReader(self.out.dataset.footer_bytes(entry))).schema.to_arrow_schema()

    def publish(self, staged: list[ShardEntry], build):
        shards = [dataclasses.replace(s, path=content_name(s.path, s.sha256)) for s in staged]
        manifest = build(shards)
        etags = self.known_fingerprints(manifest.sources)
        manifest = dataclasses.replace(manifest, sources=[
            dataclasses.replace(s, fingerprint="etag+version" if s.version_id else "etag") if s.id in etags else s
            for s in manifest.sources])
        missing = self.out.missing_shards(manifest)  # one listing: every upload landed, with its size
        if missing:
            raise OutputError(f"--out {self.url!r}: {missing} after upload; nothing was committed, retry")
        manifest = self.out.put_footer_pack(manifest)  # before the commit: the manifest names it
        self.out.commit(render_manifest(manifest), self.old, manifest)
        return manifest


class _Staging:
    """StagingPath-like: ``/`` joins for both a local directory and a URL."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def __truediv__(self, name: str) -> "_Staging":
        return _Staging(join(self.base, name))

    def __str__(self) -> str:
        return self.base


def run_remote_split(cfg, t0: float, split_fn):
    from pathlib import Path

    from .engine import Engine
    from .sources import discover, read_schema
    from .split import SplitSummary, input_schema

    from .url_overlap import check_out_url, check_url_overlap

    check_out_url(cfg.out)  # before any request: an --out URL no listing finds again is refused
    check_url_overlap(cfg.out, cfg.inputs)  # whatever the bucket holds yet
    out = RemoteOut(cfg.out, cfg.storage_options)
    sources = discover(cfg.inputs)
    for s in sources:
        if s.url == out.url or s.url.startswith(out.url + "/"):
            from datagen.contract.errors import ConfigError

            raise ConfigError(f"input {s.url!r} lies inside --out {out.url!r}; write the split outside its inputs")
    from .staging_area import StagingArea, check_staging, default_base, foreign_in_out_staging

    base, guarded = default_base(cfg.staging, out.url, STAGING, cfg.scheduler != "local")
    if cfg.staging:
        check_staging(base, out.url, cfg.storage_options)  # before anything is written
    out.acquire()
    area = None
    before = None
    try:
        listing = out.listing()
        foreign = foreign_in_out_staging(set(listing), STAGING)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OutputError(f"--out {out.url!r} holds {shown}, which datagen did not write under {STAGING!r}; "
                              "it is left untouched: remove it or choose another prefix")
        old = out.inspect()
        before = set(out.sweep(listing, old))  # under the lock: a dead run's leftovers go; a failure keeps the rest
        if old is not None and not cfg.overwrite:
            from .uptodate import config_or_source_change, remote_content_change

            reason = config_or_source_change(old, cfg.semantic(), [s.stamp for s in sources]) \
                or out.missing_shards(old) or remote_content_change(out.url, old, cfg.storage_options)
            if reason is None:
                return SplitSummary(out.url, "up to date", old.totals.rows_written, len(old.shards),
                                    old.totals.bytes, time.perf_counter() - t0)
            raise OutputError(f"--out {out.url!r} already holds a dataset {reason}; pass --overwrite to replace it")
        with Engine(cfg.scheduler, cfg.workers, cfg.progress) as engine:
            urls = [*cfg.inputs, cfg.out, *([cfg.staging] if cfg.staging and is_remote(cfg.staging) else [])]
            engine.with_options(urls, cfg.storage_options, sources)  # every task on a cluster; inputs read as listed
            pins = engine.task_options[2]
            wrap = functools.partial(_with_options, read_schema, urls, cfg.storage_options, pins=pins)
            schema, units = input_schema(cfg, engine, sources, wrap)
            # this run's own child of the staging location (staging_area.py)
            area = StagingArea(base, cfg.storage_options, guarded, bool(cfg.staging))
            root = area.open()
            stage_root = _Staging(root) if is_remote(root) else Path(root)
            target = RemoteTarget(out.url, stage_root, out, old, cfg.storage_options, urls, pins)
            summary = split_fn(cfg, engine, sources, schema, Path("."), t0, units, remote=target)
        summary.out = out.url
        summary.action = "replaced" if old is not None else "created"
        return summary
    except BaseException as exc:  # an error, Ctrl-C, SIGTERM: this run's unlisted uploads go, then the lock
        if before is not None:
            out.forget_uploads(before)
        where = area.blamed(exc) if area is not None and isinstance(exc, OSError) else None
        if area is not None:
            area.close()
            area = None
        left = out.release()
        error = storage_error(exc, *(where or (out.url, "--out"))) if isinstance(exc, OSError) else exc
        if left and isinstance(error, DatagenError):
            raise type(error)(f"{error}; {left}") from None
        if error is not exc:
            raise error from None
        raise
    finally:
        if area is not None:
            area.close()
        out.release()
