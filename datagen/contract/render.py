"""The exact text of ``manifest.json``: one top-level field per line, one source per line, the shard table
one column per line (format 2; format 1: one shard per line).

The layout is the contract's (its sha256 is what generator configs and version records hold), so
it never changes for the same manifest: ``{``, then ``  "key": value`` lines, the ``sources`` and
``shards`` lists with one ``    {entry}`` line each, then ``}``. A shard line is the entry's fields
in declaration order, encoded by the json module's C encoder straight from the entry's attributes
(no dict copy per entry, no Python encoder: about 0.3 s for 100k shards instead of 1-1.5 s).
:func:`shard_lines` is separate so a commit that keeps its parent's shards renders them once for
both texts (the parent's, whose hash the version record holds, and the new one).
"""

from __future__ import annotations

import dataclasses
import json
from json.encoder import JSONEncoder, c_encode_basestring, c_make_encoder
from typing import Any, Sequence

from . import shardtable
from .format import Manifest, ShardEntry
from .gcpause import gc_paused

_FIELDS = tuple(f.name for f in dataclasses.fields(ShardEntry))
# json.dumps(value, ensure_ascii=False) as one C call (separators ", " and ": ", NaN allowed as json.dumps)
_ENCODE = c_make_encoder(None, JSONEncoder(ensure_ascii=False).default, c_encode_basestring, None, ": ", ", ",
                         False, False, True) if c_make_encoder is not None else None


def _dumps(value: Any) -> str:
    if _ENCODE is None:  # a Python without the C accelerator
        return json.dumps(value, ensure_ascii=False)
    return "".join(_ENCODE(value, 0))


def shard_lines(shards: Sequence[ShardEntry]) -> list[str]:
    """``    {shard}`` for each shard, as :func:`manifest_text` writes it."""
    with gc_paused():
        out = []
        for s in shards:
            d = s.__dict__  # a dataclass's attributes, in field order (set by __init__ or read in that order)
            if len(d) != len(_FIELDS) or type(s) is not ShardEntry:
                d = {name: getattr(s, name) for name in _FIELDS}
            out.append("    " + _dumps(d))
        return out


_ESCAPED = bytes(range(32)) + b'"\\'   # what the encoder escapes in ASCII text: control characters, " and \\


def column_text(values: Any) -> str:
    """``_dumps(values)`` of one column; a list of plain ASCII texts (none holding a character the encoder
    escapes: paths, sha256s, times, as a manifest holds them) is joined instead of encoded item by item
    (the same text, several times faster)."""
    if type(values) is list and values and {*map(type, values)} == {str}:
        whole = "".join(values)
        if whole.isascii():
            raw = whole.encode("ascii")
            if len(raw.translate(None, _ESCAPED)) == len(raw):
                return '["' + '", "'.join(values) + '"]'
    return _dumps(values)


def column_texts(table: dict[str, Any]) -> dict[str, Any]:
    """Each column of a shard table as JSON text (``group``: a dict of texts, one per group column)."""
    with gc_paused():
        return {k: ({n: column_text(c) for n, c in v.items()} if k == "group" and type(v) is dict else column_text(v))
                for k, v in table.items()}


def joined_texts(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The column texts of two tables (same columns) concatenated: the text of the concatenated table,
    spliced instead of re-encoded (a list's text is its items' texts joined by ", "); a spliced column is
    the pair of texts, joined when the whole text is (one copy of the large first one, not several)."""
    def join(a: str, b: str) -> Any:
        return b if a == "[]" else a if b == "[]" else (a, b)
    return {k: ({n: join(t, second[k][n]) for n, t in v.items()} if type(v) is dict else join(v, second[k]))
            for k, v in first.items()}


def _column(text: Any) -> list[str]:
    return [text[0][:-1], ", ", text[1][1:]] if type(text) is tuple else [text]


def table_pieces(table: dict[str, Any], texts: dict[str, Any] | None = None) -> list[str]:
    """A shard table as written, as pieces to join: one field per line, each a JSON list (``group``: an
    object of lists), in the table's own key order (declaration order, as written). ``texts``: its
    :func:`column_texts` (or :func:`joined_texts`)."""
    out = ["{\n"]
    for i, (key, value) in enumerate((texts if texts is not None else column_texts(table)).items()):
        out.append(f"{',' + chr(10) if i else ''}    {_dumps(key)}: ")
        if type(value) is dict:
            out.append("{")
            for j, (name, text) in enumerate(value.items()):
                out.append(f"{', ' if j else ''}{_dumps(name)}: ")
                out.extend(_column(text))
            out.append("}")
        else:
            out.extend(_column(value))
    out.append("\n  }")
    return out


def table_text(table: dict[str, Any], texts: dict[str, Any] | None = None) -> str:
    """The text of :func:`table_pieces`."""
    return "".join(table_pieces(table, texts))


def manifest_text(manifest: Manifest, lines: Sequence[str] | None = None, texts: dict | None = None) -> str:
    """The exact text of ``manifest`` as written (no validation: see ``manifest.render_manifest``): its
    shards as a table of columns in format 2 (one row per shard if an entry's group keys are not the group
    columns: not a valid manifest, whose check then names the shard), one line per shard in format 1.
    ``lines``: :func:`shard_lines` of ``manifest.shards`` (format 1), ``texts`` the :func:`column_texts` of
    its table (format 2), when the caller has them."""
    table = {} if texts is not None else None
    if manifest.format_version >= 2 and texts is None:
        with gc_paused():
            table = shardtable.of_entries(manifest.shards, manifest.group_names)
    if table is None and lines is None:
        lines = shard_lines(manifest.shards)
    data = dataclasses.replace(manifest, shards=[]).to_dict()
    out: list = []
    for key, value in data.items():
        if key == "shards" and table is not None:
            out.append(['  "shards": ', *table_pieces(table, texts)])   # joined once, with the rest
        elif key == "shards":
            out.append(f"  {json.dumps(key)}: [\n" + ",\n".join(lines) + "\n  ]" if lines else '  "shards": []')
        elif key == "sources" and value:
            entries = ",\n".join("    " + json.dumps(e, ensure_ascii=False) for e in value)
            out.append(f"  {json.dumps(key)}: [\n{entries}\n  ]")
        else:
            out.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return _whole(out)


def _whole(out: list) -> str:
    """``{``, the fields (a text, or a list of pieces) joined by ``,`` and line ends, ``}``: one join."""
    pieces = ["{\n"]
    for i, item in enumerate(out):
        if i:
            pieces.append(",\n")
        pieces.extend(item) if type(item) is list else pieces.append(item)
    pieces.append("\n}\n")
    return "".join(pieces)


def data_text(data: dict[str, Any]) -> str:
    """The text :func:`manifest_text` writes for the manifest that the decoded ``data`` describes, rendered
    from the dicts themselves (no validation, no typed entries). It is that exact text only when ``data`` is
    in the written form (fields in declaration order, absent optional fields left out): a caller compares
    its sha256 with a recorded one, and anything else simply does not match."""
    out = []
    for key, value in data.items():
        if key == "shards" and shardtable.is_table(value):
            out.append(['  "shards": ', *table_pieces(value)])
        elif key in ("sources", "shards") and value and type(value) is list:
            with gc_paused():
                lines = ",\n".join(["    " + (_dumps(e) if key == "shards" else json.dumps(e, ensure_ascii=False))
                                    for e in value])
            out.append(f"  {json.dumps(key)}: [\n{lines}\n  ]")
        else:
            out.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return _whole(out)
