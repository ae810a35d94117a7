"""The dataset an append builds on, kept as its checked column table (no typed entry per old shard).

``--append`` reads ``manifest.json`` under the lock and checks all of it, exactly as ``read_manifest``
does (the same calls, so the same one-line errors for a damaged or hand-edited file). When the shards
are a format-2 table that the column-wise check certified (the usual case), they stay that table
(:class:`TableParent`): what the append needs of the old shards is their paths and part numbers (the
next part number of a group directory), their totals (the check's :class:`ShardFacts`) and the text of
their columns (spliced into the new manifest). Building 100k ``ShardEntry`` objects, and turning them
back into columns to render them, cost about 0.25 s of a 100k-shard append. Anything else (format 1,
a table the column check was unsure of, a manifest from before versions, group columns stored in
another order) is read into the typed :class:`Manifest`, and the append works as before.

:func:`render_after` gives the same text (and parent text hash) as ``publish._render`` does for the
typed parent with the same shards; ``tests/test_append_parent.py`` holds the two to the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from itertools import compress, repeat

from datagen.contract import shardtable
from datagen.contract.format import Manifest
from datagen.contract.manifest import (check_manifest_data, decode_manifest, manifest_text, read_manifest_bytes,
                                       typed_manifest)
from datagen.contract.manifest_fast import ShardFacts
from datagen.contract.render import column_texts, joined_texts


@dataclasses.dataclass(frozen=True, eq=False)
class TableParent:
    """A checked parent manifest: ``head`` is it with no shards, ``table`` its shard table as read."""
    head: Manifest
    table: dict
    facts: ShardFacts
    raw: bytes      # the bytes read (under the lock) and checked
    sha256: str     # of ``raw``

    @property
    def size(self) -> int:
        return shardtable.size(self.table)

    def typed(self) -> Manifest:
        """The typed manifest ``read_manifest`` gives for the same file."""
        return dataclasses.replace(self.head, shards=shardtable.entries(self.table))

    def next_parts(self, dirs: set[str]) -> dict[str, int]:
        """{group dir: its highest part number + 1} of the directories in ``dirs`` that hold shards."""
        paths, parts = self.table["path"], self.table["part"]
        rows = range(len(paths))
        if "" not in dirs:  # only the shards under one of them (found in one C-level pass) are looked at
            rows = compress(rows, map(str.startswith, paths, repeat(tuple(d + "/" for d in dirs))))
        nxt: dict[str, int] = {}
        for i in rows:
            d = paths[i].rpartition("/")[0]
            if d in dirs and parts[i] >= nxt.get(d, 0):
                nxt[d] = parts[i] + 1
        return nxt


def _empty(names: list[str]) -> dict:
    table = {k: [] for k in shardtable.FIELDS}
    table["group"] = {n: [] for n in names}
    return table


def read_parent(directory: str | os.PathLike) -> Manifest | TableParent:
    """``read_manifest(directory)`` (the same checks and errors), as a :class:`TableParent` when it can be one."""
    path, raw = read_manifest_bytes(directory)
    data = decode_manifest(raw, repr(str(path)))
    facts = check_manifest_data(data, origin=str(path))   # everything, every time: nothing is trusted
    shards = data["shards"]
    names = [c["name"] for c in data["group_columns"]]
    if facts is None or not shardtable.is_table(shards) or data.get("version") is None or \
            tuple(shards) != shardtable.FIELDS or list(shards["group"]) != names:
        return typed_manifest(data)
    head = typed_manifest({**data, "shards": _empty(names)})
    return TableParent(head, shards, facts, raw, hashlib.sha256(raw).hexdigest())


def render_after(manifest: Manifest, parent: TableParent) -> tuple[str, str] | None:
    """(the validated text of ``manifest``, the sha256 of ``parent``'s text as this version writes it), where
    ``manifest.shards`` are the shards added after all of ``parent``'s; None when ``publish._render``'s
    splice would not apply (the caller then uses the typed parent). Only the added shards are decoded
    back and checked, with what ties them to the parent's (unique paths, totals), as
    ``render_manifest(..., parent=...)`` does; the parent's columns are rendered once for both texts."""
    head, names = parent.head, manifest.group_names
    if not manifest.shards or head.format_version < 2 or manifest.format_version < 2 or \
            head.group_columns != manifest.group_columns or head.time_column != manifest.time_column:
        return None
    added = shardtable.of_entries(manifest.shards, names)
    if added is None:
        return None
    old_texts = column_texts(parent.table)
    text = manifest_text(manifest, texts=joined_texts(old_texts, column_texts(added)))
    origin = "manifest being written"
    check_manifest_data(decode_manifest(manifest_text(manifest).encode("utf-8", "surrogatepass"), origin), origin,
                        prefix=(parent.size, parent.facts))
    parent_text = manifest_text(head, texts=old_texts).encode("utf-8")
    parent_sha = parent.sha256 if parent_text == parent.raw else hashlib.sha256(parent_text).hexdigest()
    return text, parent_sha


def shard_paths(parent: Manifest | TableParent) -> dict[str, str]:
    """{path: sha256} of the parent's shards."""
    if isinstance(parent, TableParent):
        return dict(zip(parent.table["path"], parent.table["sha256"]))
    return {s.path: s.sha256 for s in parent.shards}
