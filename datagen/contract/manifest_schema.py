"""The declared schema of ``manifest.json``: the type and range of every field, checked on read.

One table per object (:data:`MANIFEST`, :data:`SOURCE`, :data:`SHARD`, ...) says what each
field must hold, using the spec kit of :mod:`datagen.contract.jsonspec`; :func:`check` walks a decoded
manifest against it and raises a one-line :class:`ManifestError` naming the field
(``shards[3].bytes``), what was expected and what was found (huge values shortened).
Cross-field rules (totals, ids, group keys) live in :mod:`datagen.contract.manifest_rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ManifestError
from .jsonspec import (COUNT, HEX64, I32, I64, MAX_TEXT_BYTES, MISSING, DictOf, Int, Invalid, JSONValue, ListOf,
                       Location, Nullable, Obj, Scalar, Spec, Text, _inside, show)
from .pathrules import MAX_PATH_BYTES, path_problem

__all__ = ["MANIFEST", "SOURCE", "SHARD", "check", "show"]


@dataclass(frozen=True)
class ShardPath(Spec):
    def check(self, value):
        problem = path_problem(value)
        if problem is not None:
            raise Invalid(f"shard path {problem}", value)


COLUMN = Obj(required=(("name", Text()), ("type", Text())), optional=(("derived_from", Text()),))
SOURCE = Obj(required=(
    ("id", Int(0, I32)), ("path", Location()), ("format", Text(choices=("csv", "parquet"))), ("bytes", COUNT),
    ("mtime", Nullable(Text())), ("etag", Nullable(Text())), ("sha256", Text(hex64=True)),
    ("rows_read", COUNT), ("rows_dropped", COUNT),
), optional=(("fingerprint", Text(choices=("sha256", "etag", "etag+version"))), ("version_id", Text())))
SHARD = Obj(required=(
    ("path", ShardPath()), ("group", DictOf(Scalar())), ("part", COUNT), ("rows", Int(1)), ("bytes", Int(1)),
    ("sha256", Text(hex64=True)), ("row_groups", ListOf(Int(1), min_len=1)),
    ("time_min", Nullable(Text())), ("time_max", Nullable(Text())),
), optional=(("label_counts", Nullable(DictOf(COUNT))),))


def _plain_text(v, nonempty: bool = True) -> bool:
    return type(v) is str and (v or not nonempty) and len(v) <= MAX_TEXT_BYTES and v.isascii() and "\x00" not in v


def _count(v, lo: int = 0) -> bool:
    return type(v) is int and lo <= v <= I64


# a shard path path_problem certainly accepts: ASCII segments of 1..255 safe characters, none "." or
# "..", no ":" (so no drive or scheme), no leading "/" (checked with the length, at most 4096)
_SAFE_PATH = re.compile(r"(?:(?!\.\.?(?:/|$))[\w.=~%+-]{1,255}/)*(?!\.\.?$)[\w.=~%+-]{1,255}", re.ASCII)
_INT_ONLY = {int}
_NO = object()


def _safe_path(path) -> bool:
    """``path_problem(path) is None``, decided by one regex for the paths datagen writes."""
    if type(path) is str and len(path) <= MAX_PATH_BYTES and _SAFE_PATH.fullmatch(path):
        return True
    return path_problem(path) is None


def _shard_ok(s) -> bool:
    """True when ``s`` certainly matches :data:`SHARD` (ASCII texts, plain numbers: every shard datagen
    writes); False sends it to the full check, which names what is wrong. A shortcut for 100k-shard
    manifests: a few C-level operations per field instead of a spec object's Python calls."""
    if type(s) is not dict:
        return False
    get = s.get
    group, rg, labels, sha = get("group"), get("row_groups"), get("label_counts"), get("sha256")
    part, rows, size = get("part"), get("rows"), get("bytes")
    if not (type(part) is int and 0 <= part <= I64 and type(rows) is int and 1 <= rows <= I64
            and type(size) is int and 1 <= size <= I64
            and type(sha) is str and HEX64.fullmatch(sha)
            and type(rg) is list and rg and {*map(type, rg)} == _INT_ONLY and min(rg) >= 1 and max(rg) <= I64
            and type(group) is dict):
        return False
    try:
        keys = "".join(group)
    except TypeError:  # a key that is not text
        return False
    if not keys.isascii() or "\x00" in keys or (group and max(map(len, group)) > MAX_TEXT_BYTES):
        return False
    for v in group.values():
        t = type(v)
        if not (v is None or t is bool or t is float or (t is int and -(2**63) <= v < 2**64)
                or (t is str and len(v) <= MAX_TEXT_BYTES and v.isascii())):
            return False
    for v in (get("time_min", _NO), get("time_max", _NO)):
        if v is not None and not (type(v) is str and v and len(v) <= MAX_TEXT_BYTES and v.isascii()
                                  and "\x00" not in v):
            return False
    if labels is not None and not (type(labels) is dict and all(_plain_text(k, False) and _count(v)
                                                                 for k, v in labels.items())):
        return False
    return _safe_path(get("path"))


@dataclass(frozen=True)
class Shards(Spec):
    """The shard list: :data:`SHARD` per item, with a shortcut for the common case (``_shard_ok``)."""

    def check(self, value):
        if not isinstance(value, list):
            raise Invalid("expected a list", value)
        if not value:
            raise Invalid("expected a list of at least 1 item(s)", value)
        for i, shard in enumerate(value):
            if not _shard_ok(shard):
                try:
                    SHARD.check(shard)
                except Invalid as bad:
                    raise _inside(bad, i)


FOOTER_PACK = Obj(required=(("path", ShardPath()), ("bytes", Int(1)), ("sha256", Text(hex64=True))))
TOTALS = Obj(required=tuple((k, COUNT) for k in ("rows_read", "rows_written", "rows_dropped", "shards", "groups",
                                                  "bytes")), optional=(("missing_times", COUNT),))
LINEAGE = Obj(required=(("source_id", Text()), ("source_row", Text())))
MANIFEST = Obj(required=(
    ("format_version", Int(1, 2)), ("tool_version", Text()), ("created_at", Text(iso_time=True)),
    ("config", DictOf(JSONValue())), ("sources", ListOf(SOURCE, min_len=1)), ("schema", ListOf(COLUMN, min_len=1)),
    ("group_columns", ListOf(COLUMN)), ("time_column", Nullable(Text())), ("label_column", Nullable(Text())),
    ("shards", Shards()), ("totals", TOTALS),
), optional=(("codecs", DictOf(Text())), ("lineage_columns", LINEAGE), ("version", Int(1)),
             ("version_record", Text()), ("footer_pack", FOOTER_PACK)))


@dataclass(frozen=True)
class _Certified(Spec):
    """The shard list, when the column-wise check (manifest_fast.py) already certified every entry."""

    def check(self, value):
        pass


# MANIFEST with the shard list taken as checked: the other fields in the same order, so the first error is the same
MANIFEST_SHARDS_CHECKED = Obj(required=tuple((n, _Certified() if n == "shards" else spec) for n, spec in MANIFEST.required),
                              optional=MANIFEST.optional)


def check(data: Any, origin: str, shards_checked: bool = False) -> None:
    """Raise a one-line ManifestError unless ``data`` matches :data:`MANIFEST` (``shards_checked``: its shard
    list was certified column-wise, see manifest_fast.py)."""
    try:
        (MANIFEST_SHARDS_CHECKED if shards_checked else MANIFEST).check(data)
    except Invalid as bad:
        raise ManifestError(describe(origin, bad)) from None


def describe(origin: str, bad: Invalid) -> str:
    at = f"{bad.at}: " if bad.at else ""
    got = "" if bad.value is MISSING else f", got {show(bad.value)}"
    return f"{origin}: {at}{bad.expected}{got}"
