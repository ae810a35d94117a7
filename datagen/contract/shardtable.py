"""The shard table of format 2: ``shards`` as one JSON list per field instead of one object per shard.

Format 1 wrote ``"shards": [{"path": ..., "group": {...}, ...}, ...]`` (rows); format 2 writes
``"shards": {"path": [...], "group": {"<name>": [...], ...}, "part": [...], ...}`` (columns): every
field of :class:`ShardEntry` once, in declaration order, each a list with one value per shard, and
``group`` one list per group column. Decoding, checking and rendering then work per column (a few
C-level passes) instead of per entry: a 100k-shard manifest is about 2/3 the bytes and several
times cheaper to parse and write. The two forms hold the same information: :func:`to_rows` gives the
plain per-entry form (which the per-entry reference checks, and whose messages name the shard),
:func:`to_columns` the table (None when the rows are not uniform: a missing or extra field, a row
that is not an object; such rows are not a valid manifest in either form).
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Any, Iterator, Sequence

from .format import ShardEntry

FIELDS = tuple(f.name for f in dataclasses.fields(ShardEntry))
_FIELD_SET = frozenset(FIELDS)


def is_table(shards: Any) -> bool:
    return type(shards) is dict


def shape_problem(table: Any) -> str | None:
    """What makes ``table`` not a shard table (one line, naming the field), or None."""
    if type(table) is not dict:
        return f"shards must be an object of columns ({', '.join(FIELDS)}), got {type(table).__name__}"
    missing = [k for k in FIELDS if k not in table]
    extra = [k for k in table if k not in _FIELD_SET]
    if missing or extra:
        return (f"shards must hold exactly the columns {', '.join(FIELDS)}; "
                + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(map(repr, extra[:5]))}"))
    group = table["group"]
    if type(group) is not dict:
        return f"shards.group must be an object with one list per group column, got {type(group).__name__}"
    columns = [(k, table[k]) for k in FIELDS if k != "group"] + [(f"group.{n}", c) for n, c in group.items()]
    bad = next((k for k, c in columns if type(c) is not list), None)
    if bad is not None:
        return f"shards.{bad} must be a list (one value per shard)"
    n = len(table["path"])
    bad = next((k for k, c in columns if len(c) != n), None)
    if bad is not None:
        return f"shards.{bad} holds {len(dict(columns)[bad]):,} values, but shards.path {n:,} (one per shard)"
    return None


def size(table: dict) -> int:
    return len(table["path"])


def _groups(table: dict) -> list[dict]:
    group = table["group"]
    if not group:
        return [{} for _ in range(size(table))]
    names = list(group)
    return [dict(zip(names, values)) for values in zip(*group.values())]


def to_rows(table: dict) -> list[dict]:
    """The per-entry form of a table that passed :func:`shape_problem` (fields in declaration order)."""
    columns = [_groups(table) if k == "group" else table[k] for k in FIELDS]
    return [dict(zip(FIELDS, values)) for values in zip(*columns)]


def to_columns(rows: Any, names: Sequence[str] | None = None) -> dict | None:
    """The table of per-entry ``rows`` (group columns in the order ``names``, else the first row's); None
    when the rows are not uniform (a row that is not an object, a missing or extra field, group keys
    that differ from shard to shard, or that are not text)."""
    if type(rows) is not list or {*map(type, rows)} - {dict}:
        return None
    if rows and {*map(frozenset, rows)} != {_FIELD_SET}:
        return None
    groups = [r["group"] for r in rows]
    if {*map(type, groups)} - {dict}:
        return None
    if names is None:
        names = list(groups[0]) if groups else []
    if groups and ({*map(frozenset, groups)} != {frozenset(names)} or {*map(type, names)} - {str}):
        return None
    table = {k: [r[k] for r in rows] for k in FIELDS}
    table["group"] = {n: [g[n] for g in groups] for n in names}
    return table


def of_entries(shards: Sequence[ShardEntry], names: Sequence[str]) -> dict | None:
    """The table of typed entries (None when an entry's group keys are not ``names``)."""
    groups = [s.group for s in shards]
    if any(type(g) is not dict for g in groups) or {*map(frozenset, groups)} - {frozenset(names)}:
        return None
    table = {k: list(map(attrgetter(k), shards)) for k in FIELDS}
    table["group"] = {n: [g[n] for g in groups] for n in names}
    return table


def entries(table: dict) -> list[ShardEntry]:
    """Typed entries of a validated table (attributes set from its values, as ``manifest._shard_entries``)."""
    new, out = object.__new__, []
    columns = [_groups(table) if k == "group" else table[k] for k in FIELDS]
    for values in zip(*columns):
        entry = new(ShardEntry)
        entry.__dict__.update(zip(FIELDS, values))
        out.append(entry)
    return out


def paths(shards: Any) -> list:
    """The ``path`` of every shard, of a table or of rows (``None`` for a row without one)."""
    if is_table(shards):
        return shards["path"]
    return [s.get("path") if type(s) is dict else None for s in shards]


def without(table: dict, removed: set) -> dict:
    """The table minus the shards whose path is in ``removed``, order kept."""
    if not removed:
        return {k: (dict(v) if k == "group" else list(v)) for k, v in table.items()}
    keep = [i for i, p in enumerate(table["path"]) if p not in removed]
    pick = (lambda col: [col[i] for i in keep])
    return {k: ({n: pick(c) for n, c in v.items()} if k == "group" else pick(v)) for k, v in table.items()}


def concat(first: dict, second: dict) -> dict | None:
    """One table of two with the same group columns (None when they differ)."""
    if list(first["group"]) != list(second["group"]) and size(first) and size(second):
        return None
    if not size(first):
        return {k: (dict(v) if k == "group" else list(v)) for k, v in second.items()}
    out = {k: (dict(v) if k == "group" else first[k] + second[k]) for k, v in first.items()}
    out["group"] = {n: c + second["group"][n] for n, c in first["group"].items()}
    return out


class RowView(Sequence):
    """The rows of a table, built one at a time on demand (for the few rules that walk shards after the
    column-wise check certified them)."""

    def __init__(self, table: dict):
        self._table = table

    def __len__(self) -> int:
        return size(self._table)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        t = self._table
        row = {k: t[k][i] for k in FIELDS if k != "group"}
        row["group"] = {n: c[i] for n, c in t["group"].items()}
        return {k: row[k] for k in FIELDS}

    def __iter__(self) -> Iterator[dict]:
        return iter(to_rows(self._table))
