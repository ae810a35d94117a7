"""``--storage-option`` values checked against the filesystem class they are for, before any request.

An option the backend does not know (``foo=bar`` for s3://), a non-boolean value for an option whose
default is a boolean (``anon=maybe``) and a non-text endpoint, key, secret, token or profile
(``endpoint_url=5``: a value that parses as JSON is taken as such) are usage errors naming the option; otherwise a typo would reach
the backend as a stray keyword (a late TypeError) or a truthy string (silently anonymous access).
"""

from __future__ import annotations

import inspect

from .errors import ConfigError

COMMON = {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths"}  # fsspec itself
STRICT = {"s3", "s3a"}  # backends whose options are their __init__ parameters plus the session's
SESSION = {"s3": "aiobotocore.session.AioSession", "s3a": "aiobotocore.session.AioSession"}  # gets **kwargs
# options that are text whatever their default says (``endpoint_url=5`` reached the backend as a number)
TEXT = {"endpoint_url": "endpoint_url=http://127.0.0.1:9000", "key": "key=ACCESS_KEY_ID",
        "secret": "secret=SECRET", "token": "token=SESSION_TOKEN", "profile": "profile=NAME"}


def _parameters(cls) -> dict:
    """name -> default of every named ``__init__`` parameter along the class's MRO."""
    params: dict = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for name, p in inspect.signature(init).parameters.items():
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                params.setdefault(name, p.default)
    return params


def check_storage_options_for(url: str, options: dict | None) -> None:
    """Raise a one-line ConfigError for an option ``url``'s backend does not take or a bad boolean."""
    if not options:
        return
    import fsspec

    protocol = str(url).split("://", 1)[0].lower()
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError):
        return  # remote_fs names the missing package / unknown protocol
    params = _parameters(cls)
    if protocol in SESSION:  # s3fs hands unknown keywords to the botocore session (e.g. profile=NAME)
        import importlib

        module, _, name = SESSION[protocol].rpartition(".")
        try:
            for key, default in _parameters(getattr(importlib.import_module(module), name)).items():
                params.setdefault(key, default)
        except (ImportError, AttributeError):
            return
    for key, value in options.items():
        if protocol in STRICT and key not in params and key not in COMMON:
            known = ", ".join(sorted(k for k in params if k not in ("asynchronous", "loop", "session")))
            raise ConfigError(f"--storage-option {key}={value!r}: {protocol}:// takes no option {key!r} "
                              f"(it takes: {known})")
        if isinstance(params.get(key), bool) and not isinstance(value, bool):
            raise ConfigError(f"--storage-option {key}={value!r}: {key} is true or false "
                              f"(e.g. --storage-option {key}=false)")
        if key in TEXT and value is not None and not isinstance(value, str):
            raise ConfigError(f"--storage-option {key}={value!r}: {key} is text (e.g. "
                              f"--storage-option {TEXT[key]}), got {type(value).__name__}")
