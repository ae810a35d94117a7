"""Where a dataset lives: a local directory or an fsspec URL (``s3://bucket/prefix``, ``gs://``, ...).

``is_remote(url)`` tells the two apart (``file://`` and plain paths are local and keep the local
code paths untouched). ``remote_fs(url, storage_options)`` gives the fsspec filesystem and the path
inside it (credentials and endpoints come from the standard environment/config files of the
protocol, plus ``storage_options``); a missing protocol package fails with one line naming the
extra to install. ``storage_error(exc, url)`` turns a backend's exception (no credentials, no such
bucket, access denied, endpoint unreachable) into one line naming the URL. ``storage_scope`` gives
``--storage-option`` values to a run's URLs while it runs (options_for). ``parse_storage_options``
reads ``--storage-option KEY=VALUE`` flags.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

from .errors import ConfigError, DatagenError, OutputError

EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure"}


def is_remote(location: Any) -> bool:
    text = str(location)
    return "://" in text and not text.startswith("file://")


def join(root: str, rel: str) -> str:
    return root.rstrip("/") + "/" + rel.lstrip("/")


def check_storage_options(value: Any, key: str = "storage_options") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise ConfigError(f"{key}: expected a mapping of option names to values, got {value!r}")
    return dict(value)


def parse_storage_options(pairs: tuple[str, ...] | list[str] | None) -> dict[str, Any]:
    """``("endpoint_url=http://h:9000", "anon=true")`` -> ``{"endpoint_url": ..., "anon": True}``;
    a value that parses as JSON (true, 3, {"a": 1}) is taken as such, anything else as text."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = str(pair).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--storage-option: expected KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def remote_fs(url: str, storage_options: dict | None = None):
    """(fsspec filesystem, path inside it) for a remote ``url``; one line when its package is missing."""
    import fsspec

    from .storage_options import check_storage_options_for

    protocol = url.split("://", 1)[0].lower()
    check_storage_options_for(url, storage_options)
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except ImportError:
        extra = EXTRAS.get(protocol)
        how = f"pip install 'datagen[{extra}]'" if extra == "s3" else \
            f"install the fsspec package for {protocol}:// (e.g. pip install {extra or protocol}fs)"
        raise ConfigError(f"{url!r}: the {protocol}:// protocol needs a package that is not installed; "
                          f"{how}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{url!r}: cannot open this location ({' '.join(str(exc).split())}); "
                          "check the URL and --storage-option values") from None


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 240 else text[:240] + "..."


def storage_error(exc: BaseException, url: str, what: str = "dataset", cls: type = OutputError) -> DatagenError:
    """A one-line error naming ``url`` for a backend exception (credentials, bucket, network)."""
    if isinstance(exc, DatagenError):
        return exc
    name = type(exc).__name__
    text = _detail(exc)
    low = text.lower()
    if "credential" in name.lower() or "unable to locate credentials" in low:
        return cls(f"{what} {url!r}: no credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                   "(or AWS_PROFILE), or pass --storage-option key=... secret=...")
    if "nosuchbucket" in low.replace(" ", "") or "bucket does not exist" in low:
        return cls(f"{what} {url!r}: the bucket does not exist; create it or fix the URL")
    if isinstance(exc, PermissionError) or "accessdenied" in low.replace(" ", "") or "forbidden" in low \
            or "invalidaccesskeyid" in low.replace(" ", "") or "signaturedoesnotmatch" in low.replace(" ", ""):
        return cls(f"{what} {url!r}: access denied ({text}); check the credentials and the bucket policy")
    if "connect" in low or "endpoint" in low or "timed out" in low or "name or service" in low:
        return cls(f"{what} {url!r}: cannot reach the storage endpoint ({text}); check the network and "
                   "endpoint_url / AWS_ENDPOINT_URL")
    if isinstance(exc, FileNotFoundError):
        return cls(f"{what} {url!r}: not found ({text})")
    return cls(f"{what} {url!r}: storage error: {name}: {text}")


def refuse_unused_options(options: dict | None, locations, names: str, option: str = "--storage-option") -> None:
    """Storage options given where no location is an object-store URL would be a silent no-op: refuse."""
    if options and not any(is_remote(loc) for loc in locations):
        raise ConfigError(f"{option} {', '.join(sorted(options))}: storage options apply to object-store URLs "
                          f"(s3://...); none of {names} is one: leave them out")


def refuse_object_store(location: Any, what: str) -> None:
    """A one-line usage error when ``location`` is a URL and ``what`` only works on a local dataset."""
    if is_remote(location):
        raise ConfigError(f"{what} is not supported for object-store datasets yet ({str(location)!r}); "
                          "use a local dataset directory")


_SCOPED: list = []  # [(run token, {(URL prefix, cut at a glob?): options}, {URL: pin})]: runs in progress only
_LOCK = threading.Lock()
_LOCAL = threading.local()  # .scope: (options table, pins) of the run (or cluster task) this thread works for


def _scope(url) -> tuple[str, bool]:
    text = str(url)
    cut = min((text.index(c) for c in "*?[" if c in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text.rstrip("/"), False)


def _current() -> tuple[dict, dict]:
    here = getattr(_LOCAL, "scope", None)
    if here is not None:
        return here
    table, pins = {}, {}
    with _LOCK:
        for _, options, pinned in _SCOPED:
            table.update(options)
            pins.update(pinned)
    return table, pins


def options_for(url) -> dict:
    """The storage options given for the dataset or input ``url`` lies in (the longest registered
    prefix: ``s3://b/in/`` covers ``s3://b/in/x.parquet``, ``s3://b/in/*.csv`` covers ``s3://b/in/a.csv``);
    ``{}`` for any other URL. Only runs still in progress count (storage_scope): in a thread working for
    a run, that run's options only; elsewhere those of the runs in progress in this process."""
    text, best, found = str(url), -1, {}
    for (prefix, glob), options in _current()[0].items():
        inside = text.startswith(prefix) if glob else (text == prefix or text.startswith(prefix + "/"))
        if inside and len(prefix) > best:
            best, found = len(prefix), options
    return dict(found)


def pin_for(url):
    """(ETag, VersionId, size) the run in progress recorded for the input ``url`` (pinned.py), or None."""
    return _current()[1].get(str(url))


def url_fs(url: str):
    """``fsspec.core.url_to_fs(url)`` with the storage options given for ``url`` (options_for)."""
    import fsspec

    return fsspec.core.url_to_fs(url, **options_for(url))


def open_url(url: str, mode: str = "rb", **kwargs):
    """``fsspec.open(url, mode, **kwargs).open()`` with the storage options given for ``url``; an input
    the run recorded (pin_for) is read as that very object (pinned.py), never a newer one."""
    import fsspec

    pin = pin_for(url) if "r" in mode else None
    if pin is not None:
        from .pinned import open_pinned

        return open_pinned(url, mode, pin, options_for(url), kwargs)
    return fsspec.open(url, mode, **kwargs, **options_for(url)).open()


@contextlib.contextmanager
def storage_scope(urls, options: dict | None, pins: dict | None = None):
    """Give ``options`` to the fsspec filesystems of the remote ``urls`` (and of what lies under them)
    while the block runs, then forget them: passed to the filesystem's constructor for those URLs only
    (url_fs, open_url), never made a process-wide default, never seen by a later run (a URL no run in
    progress gave options for gets the environment's defaults). The split wraps itself in it, and each
    task on a cluster worker too, so a long-lived worker keeps nothing from one task to the next.
    ``pins``: input URL -> (ETag, VersionId, size) as listed, so that open_url reads that object."""
    from .storage_options import check_storage_options_for

    options = dict(options or {})
    for url in urls:  # all checked before any is recorded: a bad value is never used
        if is_remote(url):
            check_storage_options_for(str(url), options)
    mine = {_scope(url): dict(options) for url in urls if is_remote(url)}
    pinned = dict(pins or {})
    token = object()
    with _LOCK:
        _SCOPED.append((token, mine, pinned))
    before = getattr(_LOCAL, "scope", None)
    table, known = before or ({}, {})
    _LOCAL.scope = ({**table, **mine}, {**known, **pinned})
    try:
        yield
    finally:
        _LOCAL.scope = before
        with _LOCK:
            _SCOPED[:] = [entry for entry in _SCOPED if entry[0] is not token]
