"""The declared schema of ``manifest.json``: the type and range of every field, checked on read.

One table per object (:data:`MANIFEST`, :data:`SOURCE`, :data:`SHARD`, ...) says what each
field must hold, using the spec kit of :mod:`datagen.contract.jsonspec`; :func:`check` walks a decoded
manifest against it and raises a one-line :class:`ManifestError` naming the field
(``shards[3].bytes``), what was expected and what was found (huge values shortened).
Cross-field rules (totals, ids, group keys) live in :mod:`datagen.contract.manifest_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ManifestError
from .jsonspec import (COUNT, I32, MISSING, DictOf, Int, Invalid, JSONValue, ListOf, Location, Nullable, Obj,
                       Scalar, Spec, Text, show)
from .pathrules import path_problem

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
))
SHARD = Obj(required=(
    ("path", ShardPath()), ("group", DictOf(Scalar())), ("part", COUNT), ("rows", Int(1)), ("bytes", Int(1)),
    ("sha256", Text(hex64=True)), ("row_groups", ListOf(Int(1), min_len=1)),
    ("time_min", Nullable(Text())), ("time_max", Nullable(Text())),
), optional=(("label_counts", Nullable(DictOf(COUNT))),))
TOTALS = Obj(required=tuple((k, COUNT) for k in ("rows_read", "rows_written", "rows_dropped", "shards", "groups",
                                                  "bytes")))
LINEAGE = Obj(required=(("source_id", Text()), ("source_row", Text())))
MANIFEST = Obj(required=(
    ("format_version", Int(1, 1)), ("tool_version", Text()), ("created_at", Text(iso_time=True)),
    ("config", DictOf(JSONValue())), ("sources", ListOf(SOURCE, min_len=1)), ("schema", ListOf(COLUMN, min_len=1)),
    ("group_columns", ListOf(COLUMN)), ("time_column", Text()), ("label_column", Nullable(Text())),
    ("shards", ListOf(SHARD, min_len=1)), ("totals", TOTALS),
), optional=(("codecs", DictOf(Text())), ("lineage_columns", LINEAGE), ("version", Int(1)),
             ("version_record", Text())))


def check(data: Any, origin: str) -> None:
    """Raise a one-line ManifestError unless ``data`` matches :data:`MANIFEST`."""
    try:
        MANIFEST.check(data)
    except Invalid as bad:
        raise ManifestError(describe(origin, bad)) from None


def describe(origin: str, bad: Invalid) -> str:
    at = f"{bad.at}: " if bad.at else ""
    got = "" if bad.value is MISSING else f", got {show(bad.value)}"
    return f"{origin}: {at}{bad.expected}{got}"
