"""Editing ``manifest.json`` shard by shard in tests, through its format.

Format 2 stores the shards as a table of columns (``datagen/contract/shardtable.py``). Tests that damage
one shard entry keep doing so on the plain per-entry form: :func:`load` gives the manifest with
``shards`` as a list of entries, :func:`dump` writes it back as the format writes it (the table,
when the entries still form one; entries that cannot, such as one missing a field, stay a list of
entries, which the reader checks entry by entry), and :func:`edit` does both around a change.
"""

import json
from pathlib import Path

from datagen.contract import shardtable


def rows(data: dict) -> dict:
    """``data`` (a decoded manifest or version record) with its shards as a list of entries, in place."""
    for key in ("shards", "shards_added"):
        if key in data and shardtable.is_table(data[key]):
            data[key] = shardtable.to_rows(data[key])
    return data


def load(path_or_text) -> dict:
    """The manifest at ``path_or_text`` (a path, or JSON text) with its shards as entries."""
    text = Path(path_or_text).read_text() if isinstance(path_or_text, Path) else path_or_text
    return rows(json.loads(text))


def as_written(data: dict) -> dict:
    """A copy of ``data`` (a manifest, or a version record) with its shard entries back in the format's table
    (format 2), when they form one."""
    if type(data) is not dict:
        return data
    out = dict(data)
    key, head = ("shards_added", out.get("head")) if "record" in out else ("shards", out)
    if type(head) is dict and head.get("format_version") == 2 and type(out.get(key)) is list:
        columns = head.get("group_columns")
        names = [c["name"] for c in columns if isinstance(c, dict) and isinstance(c.get("name"), str)] \
            if isinstance(columns, list) else []
        table = shardtable.to_columns(out[key], names) or shardtable.to_columns(out[key])
        if table is not None:
            out[key] = table
    return out


def dump(data: dict, **kwargs) -> str:
    return json.dumps(as_written(data), **kwargs)


def edit(path: Path, change) -> dict:
    """Apply ``change(data)`` to the manifest at ``path`` (shards as entries) and write it back; returns data."""
    data = load(Path(path))
    change(data)
    Path(path).write_text(dump(data))
    return data
