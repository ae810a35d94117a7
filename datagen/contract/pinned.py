"""Reading an object-store input as the very object the run listed (storage.open_url with a pin).

The manifest records each remote input's ETag (and VersionId in a versioned bucket); an object
overwritten between the listing and the read must not put the new object's rows under the old
object's record. A versioned input is read by its VersionId (the listed version, whatever came later);
any other is read with ``If-Match: <ETag>`` on every range request, and a different size or a failed
precondition is refused in one line: the input changed while it was being split; rerun.
"""

from __future__ import annotations

import errno

from .errors import SourceError


def changed(url: str) -> SourceError:
    return SourceError(f"input {url!r} changed while it was being split (its ETag or size is not the one "
                       "listed); rerun once it stops changing")


def _expired(exc: BaseException) -> bool:
    text = " ".join(str(a) for a in getattr(exc, "args", ()))
    return type(exc).__name__ == "FileExpired" or "pre-conditions" in text or "PreconditionFailed" in text \
        or (isinstance(exc, OSError) and exc.errno == errno.EINVAL and "If-Match" in text)


def _pin(raw, url: str, pin) -> None:
    etag, version, size = pin
    if not hasattr(raw, "read_kw") or not hasattr(raw, "version_id"):
        return  # not an S3 file: nothing to pin by (the listing's stamp is all there is)
    if version:
        raw.version_id = version  # the listed version, even if a newer one has come since
    elif size is not None and raw.size != size:
        raise changed(url)
    if size is not None and raw.size != size:  # the latest version's size was taken at open
        raw.size = raw.cache.size = size
        if hasattr(raw, "details"):
            raw.details = {**raw.details, "size": size}
    if etag:
        raw.read_kw = {**raw.read_kw, "IfMatch": f'"{etag}"'}
    fetch = raw._fetch_range

    def fetch_pinned(start, end):
        try:
            return fetch(start, end)
        except Exception as exc:
            if _expired(exc):
                raise changed(url) from None
            raise
    raw._fetch_range = fetch_pinned
    raw.cache.fetcher = fetch_pinned


def open_pinned(url: str, mode: str, pin, options: dict, kwargs: dict):
    """The file object of ``url`` pinned to ``pin`` = (ETag, VersionId, size); compression as fsspec.open."""
    import fsspec
    from fsspec.compression import compr
    from fsspec.core import get_compression

    kwargs = dict(kwargs)
    compression = kwargs.pop("compression", None)
    fs, path = fsspec.core.url_to_fs(url, **options)
    try:
        raw = fs.open(path, mode, **kwargs)
    except Exception as exc:
        if _expired(exc):
            raise changed(url) from None
        raise
    _pin(raw, url, pin)
    comp = get_compression(path, compression)
    return compr[comp](raw, mode=mode) if comp else raw
