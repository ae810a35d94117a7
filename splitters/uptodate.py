"""Is the dataset in ``--out`` exactly what this split would write? (``up to date``)

Yes only when all of these hold, cheapest first:

1. the manifest's config equals this run's (the options that shape the output);
2. the same source files, with the same size, mtime, etag and (versioned buckets) VersionId;
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
from datagen.contract.verify import verify_dataset


def _rehash(path: str) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def stale_reason(out: Path, manifest: Manifest, semantic_config: dict, stamps: list[SourceStamp]) -> str | None:
    """None when ``out`` is up to date, else why not (a phrase following "a dataset ...")."""
    reason = config_or_source_change(manifest, semantic_config, stamps)
    if reason is not None:
        return reason
    return _content_change(out, manifest)


def config_or_source_change(manifest: Manifest, semantic_config: dict, stamps: list[SourceStamp]) -> str | None:
    """Checks 1 and 2 (options, source stamps); None when both hold."""
    wanted = json.loads(json.dumps(semantic_config))
    differ = sorted(k for k in set(wanted) | set(manifest.config)
                    if k != "inputs" and wanted.get(k) != manifest.config.get(k))
    if differ:  # the inputs' spelling does not matter: the resolved sources are compared below
        return f"made with other options ({', '.join(differ)})"
    stored = [s.stamp for s in manifest.sources]
    if [s.path for s in stored] != [s.path for s in stamps]:
        return "from changed sources (other input files)"
    for old, new in zip(stored, stamps):
        if old != new:
            what = "another version (VersionId)" if old[:4] == new[:4] else "another size or time"
            return f"from changed sources ({new.path!r} has {what})"
    return None


def _content_change(out: Path, manifest: Manifest) -> str | None:
    report = verify_dataset(out, manifest, full_hash=True)
    if not report.ok:
        more = f" and {len(report.problems) - 1} more" if len(report.problems) > 1 else ""
        return f"that does not verify ({report.problems[0]}{more})"
    to_hash = [s for s in manifest.sources if "://" not in s.path or not s.etag]
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(to_hash)))) as pool:
        digests = list(pool.map(_rehash, [s.path for s in to_hash]))
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
