"""Up-front checks of an object-store ``--out`` URL, before any request: its spelling, and its
overlap with the inputs (the object-store side of overlap.py).

* ``--out`` must be a plain prefix: ``scheme://bucket/key`` with no empty segment (``s3://b//p``
  names a key the listing cannot find again), no ``.``/``..`` segment, no query or fragment
  (``?versionId=1`` is a read selector, not a place to write) and no glob character;
* ``--out`` may not be an input URL, lie under one (an input prefix is searched recursively), nor lie
  where an input glob could match the shards. The rule does not depend on what the bucket holds, so
  a split refused once is refused the first time too.
"""

from __future__ import annotations

import posixpath

from datagen.contract.errors import ConfigError
from datagen.contract.storage import is_remote

GLOB = set("*?[")


def check_out_url(url: str) -> None:
    """A one-line ConfigError (exit 2) for an ``--out`` URL that is not a plain object-store prefix."""
    scheme, _, rest = str(url).partition("://")
    why = None
    if "?" in rest or "#" in rest:
        why = "it has a query or fragment ('?', '#'): give the prefix alone"
    elif GLOB & set(rest):
        why = "it has a glob character ('*', '[')"
    else:
        parts = rest.rstrip("/").split("/")
        if not parts[0]:
            why = "it names no bucket"
        elif any(p == "" for p in parts[1:]):
            why = "it has an empty path segment ('//')"
        elif any(p in (".", "..") for p in parts[1:]):
            why = "it has a '.' or '..' segment"
        elif any(p != p.strip() for p in parts):
            why = "a path segment starts or ends with white space"
    if why is not None:
        parts = rest.split("?")[0].split("#")[0].split("/")
        clean = scheme + "://" + "/".join(p for p in parts if p not in ("", "."))
        hint = f" (did you mean {clean!r}?)" if ".." not in parts and not GLOB & set(clean) and clean != url else ""
        raise ConfigError(f"--out {url!r}: not a usable object-store prefix: {why}{hint}")


def _norm(url: str) -> str:
    scheme, _, rest = str(url).partition("://")
    return scheme.lower() + "://" + rest.strip("/")


def check_url_overlap(out: str, inputs: list[str]) -> None:
    """Raise ConfigError when the object-store ``out`` is, or lies under, an input URL or where an
    input glob could match its shards."""
    target = _norm(out)
    for given in inputs:
        if not is_remote(given):
            continue
        text = _norm(given)
        cut = min((text.index(c) for c in GLOB if c in text), default=-1)
        if cut < 0:
            if target == text or target.startswith(text + "/"):
                raise ConfigError(f"--out {out!r} lies inside input {given!r} (an input prefix is searched "
                                  "recursively); write the split outside its inputs")
            continue
        base = text[:cut].rsplit("/", 1)[0]
        rest = text[len(base) + 1:].split("/")
        if not (target == base or target.startswith(base + "/")):
            continue
        depth = 0 if target == base else len(posixpath.relpath(target, base).split("/"))
        if any("**" in p for p in rest) or len(rest) > depth:
            raise ConfigError(f"--out {out!r} lies where input pattern {given!r} would find the shards; "
                              "write the split outside its inputs")
