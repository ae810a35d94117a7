"""The lineage manifest: ``DIR/manifest.json``, read, written and validated here.

The splitter writes it last and atomically; the generator, ``datagen show``,
``datagen verify`` and provenance read it, all through :func:`read_manifest_with_hash`,
which checks it against the declared schema (:mod:`datagen.contract.manifest_schema`) and
its cross-field rules (:mod:`datagen.contract.manifest_rules`). Shard paths are POSIX paths relative
to the dataset directory; source paths are absolute local paths or fsspec URLs. Format 2 (written
now) holds the shards as a table of columns (:mod:`datagen.contract.shardtable`); format 1 (one
object per shard) is still read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
import os
from pathlib import Path
from typing import Any

from .errors import ManifestError
from . import shardtable
from .format import (FORMAT_VERSION, MANIFEST_NAME, READABLE_FORMATS, ColumnEntry, FooterPack,
                     GroupColumn, Manifest, ShardEntry, SourceEntry, Totals)
from .atomicwrite import atomic_write_text  # noqa: F401  (re-exported: the writers' import)
from .gcpause import gc_paused
from .manifest_fast import ShardFacts, shards_certainly_valid
from .manifest_rules import check_rules
from .manifest_schema import check as schema_check
from .manifest_schema import show
from .render import manifest_text

def manifest_path(directory: str | os.PathLike) -> Path:
    return Path(directory) / MANIFEST_NAME


def decode_manifest(raw: bytes, origin: str) -> Any:
    """``manifest.json`` bytes -> JSON value; any defect becomes a one-line ManifestError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{origin} is not valid UTF-8 (bad byte at offset {exc.start})") from None
    try:
        with gc_paused():
            return json.loads(text, object_pairs_hook=_unique_keys)
    except ManifestError as exc:
        raise ManifestError(f"{origin} is not a manifest: {exc}") from None
    except RecursionError:
        raise ManifestError(f"{origin} is not a manifest: its JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{origin} is not valid JSON: {exc}") from None
    except ValueError as exc:  # an integer literal beyond Python's digit limit (4,300 by default)
        raise ManifestError(f"{origin} is not a manifest: it holds a number too long to read "
                            f"({str(exc).split(';')[0][:120]})") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ManifestError(f"the key {dup[:60]!r} appears twice in one object")
    return data


def check_manifest_data(data: Any, origin: str = "manifest",
                        prefix: tuple[int, ShardFacts] | None = None) -> ShardFacts | None:
    """Validate a decoded manifest against the declared schema and rules (no typed entries built).
    ``prefix``: see :func:`manifest_rules.check_rules` (``data["shards"]`` then holds only the shards after it).
    A format-2 shard table is checked column-wise; when that check is unsure, its per-entry form is
    checked by the reference, which names the first problem exactly as for format 1. Returns the
    column-wise check's :class:`ShardFacts` of ``data["shards"]`` (None when the reference checked them)."""
    if isinstance(data, dict) and "format_version" in data and data["format_version"] not in READABLE_FORMATS:
        version = show(data["format_version"])
        raise ManifestError(f"{origin}: format_version {version} is not supported (this datagen reads "
                            f"{' and '.join(map(str, READABLE_FORMATS))}); was it written by another datagen version?")
    with gc_paused():
        shards = data.get("shards") if isinstance(data, dict) else None
        if shardtable.is_table(shards):
            if data.get("format_version") != FORMAT_VERSION:
                raise ManifestError(f"{origin}: shards is a table of columns, which only format_version "
                                    f"{FORMAT_VERSION} has (format_version is {show(data.get('format_version'))})")
            problem = shardtable.shape_problem(shards)
            if problem is not None:
                raise ManifestError(f"{origin}: {problem}")
        facts = shards_certainly_valid(data)   # column-wise; None sends the shards to the per-entry checks
        if shardtable.is_table(shards):
            data = {**data, "shards": shardtable.RowView(shards) if facts else shardtable.to_rows(shards)}
        schema_check(data, origin, shards_checked=facts is not None)
        check_rules(data, origin, facts, prefix)
    return facts


def manifest_from_dict(data: Any, origin: str = "manifest") -> Manifest:
    """Validate a decoded manifest against the declared schema and rules; build a :class:`Manifest`."""
    check_manifest_data(data, origin)
    return typed_manifest(data)


def typed_manifest(data: dict) -> Manifest:
    """The :class:`Manifest` of decoded data that passed :func:`check_manifest_data`; not checked here."""
    with gc_paused():
        return _typed(data)


def _typed(data: dict) -> Manifest:
    typed = {
        "sources": [_entry(SourceEntry, s) for s in data["sources"]],
        "shards": (shardtable.entries(data["shards"]) if shardtable.is_table(data["shards"])
                   else _shard_entries(data["shards"])),
        "schema": [_entry(ColumnEntry, c) for c in data["schema"]],
        "group_columns": [_entry(GroupColumn, c) for c in data["group_columns"]],
        "totals": _entry(Totals, data["totals"]),
    }
    if "footer_pack" in data:
        typed["footer_pack"] = _entry(FooterPack, data["footer_pack"])
    return Manifest(**{f.name: data[f.name] for f in dataclasses.fields(Manifest)
                       if f.name in data and f.name not in typed}, **typed)


_FIELDS: dict[type, tuple[tuple[str, ...], frozenset]] = {}
_SHARD_FIELDS = tuple(f.name for f in dataclasses.fields(ShardEntry))


def _shard_entries(shards: list[dict]) -> list[ShardEntry]:
    """Typed shard entries; when every entry holds exactly the fields in declaration order (as datagen
    writes them), its attributes are set from a copy of its (validated) dict without ``__init__``'s
    per-argument work: the same objects, three times faster on 100k shards."""
    if {*map(tuple, shards)} != {_SHARD_FIELDS}:
        return [_entry(ShardEntry, s) for s in shards]
    new, out = object.__new__, []
    for s in shards:
        entry = new(ShardEntry)
        entry.__dict__.update(s)
        out.append(entry)
    return out


def _entry(cls: type, obj: dict) -> Any:
    """One typed entry from its (already validated) JSON object (extra fields, which the schema
    ignores, are left out)."""
    known = _FIELDS.get(cls)
    if known is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        known = _FIELDS[cls] = (names, frozenset(names))
    if obj.keys() <= known[1]:
        return cls(**obj)
    return cls(**{name: obj[name] for name in known[0] if name in obj})


def read_manifest_with_hash(directory: str | os.PathLike, version: int | None = None) -> tuple[Manifest, str]:
    """Read and validate ``DIR/manifest.json`` once; return it with the sha256 of the bytes read.
    With ``version``, the manifest as it was when that version was current (replayed from the
    version records, see :mod:`datagen.contract.versions`), with the sha256 it had then."""
    if version is not None:
        from .versions import read_version

        return read_version(directory, version)
    path, raw = read_manifest_bytes(directory)
    data = decode_manifest(raw, repr(str(path)))
    sha = hashlib.sha256(raw).hexdigest()
    # checked in full on every open (column-wise: cheap at 100k shards); no version record is read here
    return manifest_from_dict(data, origin=str(path)), sha


def read_manifest_bytes(directory: str | os.PathLike) -> tuple[Path, bytes]:
    """(path, bytes) of ``DIR/manifest.json``; a one-line ManifestError when it is not there or unreadable."""
    directory = Path(directory)
    path = manifest_path(directory)
    try:
        if not directory.exists():
            raise ManifestError(f"dataset directory {str(directory)!r} does not exist")
        if not directory.is_dir():
            raise ManifestError(f"dataset directory {str(directory)!r} is not a directory")
        if not path.exists():
            raise ManifestError(
                f"{str(path)!r} not found: {str(directory)!r} is not a finished dataset "
                "(the splitter writes the manifest last)"
            )
        if not path.is_file():
            raise ManifestError(f"{str(path)!r} is not a regular file")
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:  # unreadable, name too long, NUL in the name
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ManifestError(f"cannot read {str(path)!r}: {detail}") from None
    return path, raw


def read_manifest(directory: str | os.PathLike) -> Manifest:
    """Read and validate ``DIR/manifest.json``; a clear error if it is not there or not valid."""
    return read_manifest_with_hash(directory)[0]


def render_manifest(manifest: Manifest, parent: Manifest | None = None, lines: list[str] | None = None,
                    texts: dict | None = None) -> str:
    """Validate ``manifest`` and return the exact text :func:`write_manifest` writes. ``parent``: a manifest
    read and validated by this process (under the dataset's lock) whose shards are, as the very same
    objects, the first ones of ``manifest`` with the same group and time columns: then only the shards
    after them are decoded back and checked, plus what ties them to the parent's (unique paths,
    totals). ``lines``/``texts``: :func:`shard_lines`/:func:`render.column_texts` of ``manifest.shards``
    when the caller has them."""
    text = manifest_text(manifest, lines, texts)
    origin = "manifest being written"
    k = len(parent.shards) if parent is not None else 0
    if k and len(manifest.shards) > k and parent.group_columns == manifest.group_columns and \
            parent.time_column == manifest.time_column and all(map(operator.is_, manifest.shards[:k], parent.shards)):
        added = manifest_text(dataclasses.replace(manifest, shards=manifest.shards[k:]))
        check_manifest_data(decode_manifest(added.encode("utf-8", "surrogatepass"), origin), origin,
                            prefix=(k, ShardFacts.of_entries(parent.shards)))
    else:
        check_manifest_data(decode_manifest(text.encode("utf-8", "surrogatepass"), origin), origin=origin)
    return text


def write_manifest(directory: str | os.PathLike, manifest: Manifest, tmp_name: str | None = None) -> Path:
    """Validate, then write the manifest atomically (0666 minus the umask). Returns its path."""
    path = manifest_path(directory)
    atomic_write_text(path, render_manifest(manifest), tmp_name=tmp_name)
    return path
