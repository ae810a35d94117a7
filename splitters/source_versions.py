"""The VersionId of an object-store source whose bucket has versioning enabled (part of its
fingerprint, so an object overwritten in place is a changed source even with the same ETag, size
and second-resolution time).

A listing (glob, find) gives no VersionId, so for a bucket whose versioning is enabled or suspended
(objects written while it was enabled keep their VersionIds) each source costs one HEAD, whether the
input is a glob or a literal URL: the stamp never depends on how the input is spelled. Whether a
bucket is versioned is asked once per bucket (``GetBucketVersioning``). VersionId ``"null"`` (an
object written while versioning was off or suspended: overwritten in place) counts as no version. A
backend without versions (local files, gcs/az through this code, an S3 bucket that was never
versioned, or credentials that may not ask) gives ``None``: the source is then fingerprinted by its
ETag alone.
"""

from __future__ import annotations

from fsspec.implementations.local import LocalFileSystem


def version_id(fs, path: str, info: dict, versioned: dict) -> str | None:
    """``path``'s VersionId (``info`` is what the listing said; ``versioned`` caches bucket -> bool)."""
    if isinstance(fs, LocalFileSystem):
        return None
    if _real(info.get("VersionId")):
        return str(info["VersionId"])
    ask = getattr(fs, "_call_s3", None)  # s3fs
    if ask is None:
        return None
    bucket = path.split("/", 1)[0]
    if bucket not in versioned:
        from fsspec.asyn import sync

        try:
            status = sync(fs.loop, ask, "get_bucket_versioning", Bucket=bucket).get("Status", "")
            versioned[bucket] = status in ("Enabled", "Suspended")
        except Exception:  # no permission to ask, or an S3-like store without the call: ETag only
            versioned[bucket] = False
    if not versioned[bucket]:
        return None
    fresh = fs.info(path, refresh=True)  # one HEAD: the current version's id
    return str(fresh["VersionId"]) if _real(fresh.get("VersionId")) else None


def _real(version) -> bool:
    """A VersionId that names one version ("null": the object has none of its own)."""
    return bool(version) and str(version) != "null"
