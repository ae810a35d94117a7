"""Is the dataset in ``--out`` exactly what this split would write? (``up to date``)

Yes only when all of these hold, cheapest first:

1. the manifest's config equals this run's (the options that shape the output);
2. the same source files, with the same size, mtime, etag and (versioned buckets) VersionId; a local
   file with the same size and another mtime (copied over, re-downloaded, touched) is hashed and
   passes when its sha256 is the recorded one (contract/sourcecheck.py ``source_change``, the rule
   verify and provenance use);
3. the output verifies as ``datagen verify`` does: every listed shard is there
   with its recorded size, footer, sha256 and lineage values (a shard changed in
   place with the same size is caught; this re-reads the shards once);
4. every local source still has the recorded sha256. A file rewritten with the
   same size and mtime is caught here; this re-reads the inputs once (far less
   than a split costs). Object-store sources with an etag are trusted on it.

Otherwise the reason, one phrase, ends the "pass --overwrite" error.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from datagen.contract.hashing import sha256_file
from datagen.contract.format import Manifest, SourceStamp
from datagen.contract.sourcecheck import source_change
from datagen.contract.storage import is_remote
from datagen.contract.verify import verify_dataset


def _rehash(path: str) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def stale_reason(out: Path, manifest: Manifest, semantic_config: dict, stamps: list[SourceStamp]) -> str | None:
    """None when ``out`` is up to date, else why not (a phrase following "a dataset ...")."""
    hashed: dict[str, str | None] = {}
    reason = config_or_source_change(manifest, semantic_config, stamps, hashed)
    if reason is not None:
        return reason
    return _content_change(out, manifest, hashed)


def config_or_source_change(manifest: Manifest, semantic_config: dict, stamps: list[SourceStamp],
                            hashed: dict[str, str | None] | None = None) -> str | None:
    """Checks 1 and 2 (options, source stamps); None when both hold. ``hashed``: gets the sha256 of
    each local file check 2 had to hash (path -> digest), so check 4 does not read it again."""
    hashed = {} if hashed is None else hashed

    def digest(path: str) -> str | None:
        if path not in hashed:
            hashed[path] = _rehash(path)
        return hashed[path]

    wanted = json.loads(json.dumps(semantic_config))
    differ = sorted(k for k in set(wanted) | set(manifest.config)
                    if k != "inputs" and wanted.get(k) != manifest.config.get(k))
    if differ:  # the inputs' spelling does not matter: the resolved sources are compared below
        return f"made with other options ({', '.join(differ)})"
    if [s.path for s in manifest.sources] != [s.path for s in stamps]:
        return "from changed sources (other input files)"
    for entry, new in zip(manifest.sources, stamps):
        old = entry.stamp
        if old == new:
            continue
        if not is_remote(new.path) and old.etag == new.etag and old.version == new.version:
            what = source_change(entry, new.bytes, new.mtime, lambda: digest(new.path))
            if what is None:   # the same bytes with another mtime
                continue
        else:
            what = "another version (VersionId)" if old[:4] == new[:4] else "another size or time"
        return f"from changed sources ({new.path!r} has {what})"
    return None


def _content_change(out: Path, manifest: Manifest, hashed: dict[str, str | None]) -> str | None:
    report = verify_dataset(out, manifest, full_hash=True)
    if not report.ok:
        more = f" and {len(report.problems) - 1} more" if len(report.problems) > 1 else ""
        return f"that does not verify ({report.problems[0]}{more})"
    to_hash = [s for s in manifest.sources if "://" not in s.path or not s.etag]
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(to_hash)))) as pool:   # each file read once in all
        digests = list(pool.map(lambda p: hashed[p] if p in hashed else _rehash(p), [s.path for s in to_hash]))
    for src, digest in zip(to_hash, digests):
        if digest != src.sha256:
            return f"from changed sources ({src.path!r} has another sha256)"
    return None


def remote_content_change(url: str, manifest: Manifest, storage_options: dict | None) -> str | None:
    """Check 3 for an object-store dataset: every shard verifies as ``datagen verify URL`` checks it
    (size, footer, sha256 and lineage values; each shard downloaded once into a temporary cache)."""
    report = verify_dataset(url, manifest, full_hash=True, storage_options=storage_options)
    if not report.ok:
        more = f" and {len(report.problems) - 1} more" if len(report.problems) > 1 else ""
        return f"that does not verify ({report.problems[0]}{more})"
    return None
