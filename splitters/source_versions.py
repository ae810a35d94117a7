"""The VersionId of an object-store source whose bucket has versioning enabled (part of its
fingerprint, so an object overwritten in place is a changed source even with the same ETag, size
and second-resolution time).

A listing (glob, find) gives no VersionId, so for a versioned bucket each source costs one HEAD;
whether a bucket is versioned is asked once per bucket (``GetBucketVersioning``). A backend without
versions (local files, gcs/az through this code, an S3 bucket that was never versioned, or
credentials that may not ask) gives ``None``: the source is then fingerprinted by its ETag alone.
"""

from __future__ import annotations

from fsspec.implementations.local import LocalFileSystem


def version_id(fs, path: str, info: dict, versioned: dict) -> str | None:
    """``path``'s VersionId (``info`` is what the listing said; ``versioned`` caches bucket -> bool)."""
    if isinstance(fs, LocalFileSystem):
        return None
    if info.get("VersionId"):
        return str(info["VersionId"])
    ask = getattr(fs, "_is_bucket_versioned", None)  # s3fs
    if ask is None:
        return None
    bucket = path.split("/", 1)[0]
    if bucket not in versioned:
        from fsspec.asyn import sync

        try:
            versioned[bucket] = bool(sync(fs.loop, ask, bucket))
        except Exception:  # no permission to ask, or an S3-like store without the call: ETag only
            versioned[bucket] = False
    if not versioned[bucket]:
        return None
    fresh = fs.info(path, refresh=True)  # one HEAD: the current version's id
    return str(fresh["VersionId"]) if fresh.get("VersionId") else None
