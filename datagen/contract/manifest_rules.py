"""Cross-field rules of a manifest that passed its declared schema (:mod:`datagen.contract.manifest_schema`).

Ids and paths are unique, every shard's group matches ``group_columns`` (keys, value types
and its hive directory), row groups add up to rows, and ``totals`` agree with the shards and
sources. Each rule raises a one-line :class:`ManifestError` naming the entry.
"""

from __future__ import annotations

import posixpath
from typing import Any

from .errors import DatagenError, ManifestError
from .manifest_fast import ShardFacts
from .manifest_schema import show


FLOAT_WORDS = ("NaN", "Infinity", "-Infinity")


def value_kind(type_name: str) -> str:
    """What JSON value a group column of Arrow type ``type_name`` holds: int, float, bool or str."""
    if type_name.startswith("dictionary<values="):
        return value_kind(type_name[len("dictionary<values="):].split(",")[0])
    if type_name.startswith(("int", "uint")):
        return "int"
    if type_name.startswith(("float", "double", "halffloat")):
        return "float"
    if type_name in ("bool", "null"):
        return type_name
    return "str"


def _value_fits(kind: str, value: Any) -> bool:
    if value is None:
        return True
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":  # JSON has no NaN/inf: the split writes them as these strings
        return (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in FLOAT_WORDS
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "null":
        return False
    return isinstance(value, str)


# exact types a group value of each kind certainly fits (None fits every kind); anything else (a
# subclass, a float word) goes through _value_fits
_EXACT = {"int": frozenset({int, type(None)}), "float": frozenset({int, float, type(None)}),
          "bool": frozenset({bool, type(None)}), "str": frozenset({str, type(None)}), "null": frozenset({type(None)})}


def check_rules(data: dict, origin: str, facts: ShardFacts | None = None,
                prefix: tuple[int, ShardFacts] | None = None) -> None:
    """Raise a ManifestError unless the (schema-valid) decoded manifest is consistent. ``facts``: the shard
    list already passed the per-shard rules column-wise (manifest_fast.py); only their totals are used.
    ``prefix``: (k, facts) of k shards that come before ``data["shards"]`` and were validated already (a
    commit that adds shards to a manifest read and validated under its lock): ``data["shards"]`` are
    shards[k:], checked here, then against the others (paths unique, totals of all)."""

    def fail(message: str) -> None:
        raise ManifestError(f"{origin}: {message}")

    sources, shards, totals = data["sources"], data["shards"], data["totals"]
    if ("version" in data) != ("version_record" in data) or \
            ("version" in data and data["version_record"] != f"_versions/{data['version']:08d}.json"):
        fail(f"version {data.get('version')!r} and version_record {data.get('version_record')!r} do not match "
             "(expected both or neither, the record named _versions/<version:08d>.json)")
    for i, s in enumerate(sources):
        if s["id"] != i:
            fail(f"sources[{i}].id is {s['id']}, expected {i} (ids number the sources in order)")
        if s["rows_dropped"] > s["rows_read"]:
            fail(f"sources[{i}]: rows_dropped {s['rows_dropped']:,} exceeds rows_read {s['rows_read']:,}")
    for key in ("schema", "group_columns"):
        names = [c["name"] for c in data[key]]
        if len(set(names)) != len(names):
            fail(f"{key}: column names must be unique, got {show(sorted(names)[:20])}")
    types = {c["name"]: c["type"] for c in data["schema"]}
    lineage = {"source_id": "_source_id", "source_row": "_source_row"}  # the names every reader uses
    if data.get("lineage_columns", lineage) != lineage:
        fail(f"lineage_columns must be {lineage}, got {show(data['lineage_columns'])}")
    for role in ("source_id", "source_row"):
        column = lineage[role]
        if not types.get(column, "").startswith(("int", "uint")):
            fail(f"schema: lineage column {column!r} must be an integer column, got {types.get(column)!r}")
    groups = [(c["name"], value_kind(c["type"])) for c in data["group_columns"]]
    names = [n for n, _ in groups]
    if data["time_column"] is not None and data["time_column"] not in types:
        fail(f"time_column {show(data['time_column'])} is not a column of the schema")
    start = prefix[0] if prefix else 0
    _check_untimed(data, fail, start)
    if data["label_column"] is not None and data["label_column"] not in types and data["label_column"] not in names:
        fail(f"label_column {show(data['label_column'])} is neither a column of the schema nor a group column")
    for c in data["group_columns"]:
        if c.get("derived_from") not in (None, data["time_column"]):
            fail(f"group column {show(c['name'])} is derived_from {show(c['derived_from'])}, but the time column "
                 f"is {show(data['time_column'])}")
    if facts is None:  # the per-entry reference (a list the column-wise check was not sure of)
        facts = _check_shards(shards, groups, names, types, fail, start)
    if prefix:
        twice = next((i for i, s in enumerate(shards) if s["path"] in prefix[1].paths), None)
        if twice is not None:
            fail(f"{_at(start + twice, shards[twice])}: shard path is listed twice")
        facts = prefix[1] + facts
    pack = data.get("footer_pack")
    if pack is not None and (not pack["path"].startswith("_footers/") or pack["path"] in facts.paths):
        fail(f"footer_pack.path {show(pack['path'])} must lie under _footers/ inside the dataset and name no shard")
    expect = {
        "shards": start + len(shards),
        "bytes": facts.bytes,
        "rows_written": facts.rows,
        "rows_read": sum(s["rows_read"] for s in sources),
        "rows_dropped": sum(s["rows_dropped"] for s in sources),
        "groups": facts.groups,
    }
    for key, value in expect.items():
        if totals[key] != value:
            fail(f"totals.{key} is {totals[key]:,}, but the shards and sources add up to {value:,}")
    if totals["rows_read"] != totals["rows_written"] + totals["rows_dropped"]:
        fail(f"totals: rows_read {totals['rows_read']:,} is not rows_written {totals['rows_written']:,} "
             f"+ rows_dropped {totals['rows_dropped']:,}")


def _check_shards(shards: list[dict], groups: list[tuple[str, str]], names: list[str], types: dict[str, str],
                  fail, start: int = 0) -> ShardFacts:
    """The per-shard rules, entry by entry (the reference the column-wise check stands for)."""
    seen: set[str] = set()
    dirs: set[str] = set()
    name_set = set(names)  # names are unique (checked above), as are a dict's keys
    exact = [(name, kind, _EXACT[kind]) for name, kind in groups]
    for i, s in enumerate(shards, start):
        path, group = s["path"], s["group"]
        if path in seen:
            fail(f"{_at(i, s)}: shard path is listed twice")
        seen.add(path)
        if group.keys() != name_set:
            fail(f"{_at(i, s)}: group keys {show(sorted(group)[:20])} do not match group_columns {names}")
        for name, kind, ok in exact:
            value = group[name]
            if type(value) not in ok and not _value_fits(kind, value):
                fail(f"{_at(i, s)}: group value {name}={show(value)} does not fit its column type "
                     f"{types.get(name) or kind}")
        actual = path.rpartition("/")[0]  # posixpath.dirname of a schema-valid path (no empty segment)
        _check_group_dir(s, names, lambda: _at(i, s), fail, actual)
        dirs.add(actual)
        if sum(s["row_groups"]) != s["rows"]:
            fail(f"{_at(i, s)}: row_groups add up to {sum(s['row_groups']):,} rows, but rows is {s['rows']:,}")
        counts = s.get("label_counts")
        if counts is not None and sum(counts.values()) != s["rows"]:
            fail(f"{_at(i, s)}: label_counts add up to {sum(counts.values()):,}, but rows is {s['rows']:,}")
    return ShardFacts(frozenset(seen), sum(s["rows"] for s in shards), sum(s["bytes"] for s in shards), frozenset(dirs))


def _check_untimed(data: dict, fail, start: int = 0) -> None:
    """Without a time column no shard has a time range and no time is counted as missing;
    with one, missing times are at most the rows read."""
    missing = data["totals"].get("missing_times")
    if data["time_column"] is None:
        if missing is not None:
            fail(f"totals.missing_times is {show(missing)}, but there is no time_column")
        timed = next((i for i, s in enumerate(data["shards"], start) if s["time_min"] is not None or s["time_max"] is not None),
                     None)
        if timed is not None:
            fail(f"shards[{timed}] has a time range, but there is no time_column")
    elif missing is not None and missing > data["totals"]["rows_read"]:
        fail(f"totals.missing_times {missing:,} exceeds rows_read {data['totals']['rows_read']:,}")


from .hive import PAD  # noqa: E402

_SIMPLE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.~")


def _fast_dir(names: list[str], values: tuple) -> str | None:
    """The hive directory when every value is a plain int or a short text needing no escape (the common
    case, as hive.group_dir would write it); None otherwise."""
    parts = []
    for name, value in zip(names, values):
        if not _SIMPLE.issuperset(name):
            return None
        if type(value) is int and value >= 0:
            width = PAD.get(name)
            parts.append(f"{name}={value:0{width}d}" if width else f"{name}={value}")
        elif type(value) is str and 0 < len(value) <= 64 and _SIMPLE.issuperset(value):
            parts.append(f"{name}={value}")
        else:
            return None
    return "/".join(parts)


def _at(i: int, shard: dict) -> str:
    """Where a shard rule failed (built only on failure: it costs a repr per shard)."""
    return f"shards[{i}] ({show(shard['path'])})"


def _check_group_dir(shard: dict, names: list[str], where, fail, actual: str | None = None) -> None:
    """A shard lives in the hive directory of its own group values (no row is misfiled by the manifest):
    the directory ``group_dir`` gives (long values shortened with their hash, hive.py), or the plain one
    of a split made before long values were shortened. ``where()`` names the shard (built on failure)."""
    from .hive import group_dir, plain_dir

    values = tuple(shard["group"][n] for n in names)
    if actual is None:
        actual = posixpath.dirname(shard["path"])
    if _fast_dir(names, values) == actual:
        return
    try:
        expected = group_dir(names, values)
    except DatagenError as exc:
        fail(f"{where()}: its group values cannot form a directory: {exc}")
    if actual != expected and actual != plain_dir(names, values):
        fail(f"{where()}: shard lies in directory {show(actual)}, but its group values give {show(expected)}")
