"""The manifest's format: constants and the typed entries of ``manifest.json``.

:mod:`datagen.contract.manifest` reads and writes them (validated against
:mod:`datagen.contract.manifest_schema`); every other module uses these types.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 2            # 2: the shards as a table of columns (shardtable.py); 1: one object per shard
READABLE_FORMATS = (1, 2)
SOURCE_ID_COLUMN = "_source_id"
SOURCE_ROW_COLUMN = "_source_row"


TEXT_TYPE_NAMES = ("string", "large_string")


_DICTIONARY = re.compile(r"dictionary<values=(.+), indices=\w+, ordered=[01]>$")


def value_type_name(name: str) -> str:
    """A type name with a dictionary's values' type for the dictionary (``dictionary<values=string,
    indices=int8, ordered=0>`` -> ``string``); any other name as it is."""
    m = _DICTIONARY.match(name)
    return m.group(1) if m else name


def is_text(dtype) -> bool:
    """A text column, given its Arrow type or the type name the manifest stores: ``string`` or
    ``large_string`` (not a dictionary of text). The one answer for the split and the generator."""
    return str(dtype) in TEXT_TYPE_NAMES


def derived_type_name(part: str) -> str:
    """The type of a calendar part derived from the time column: ``date`` is ISO text, the others int32."""
    return "string" if part == "date" else "int32"


class SourceStamp(NamedTuple):
    """What says a source file is unchanged without reading it: path, size, mtime, etag and (in a
    versioned bucket) the object's VersionId."""
    path: str
    bytes: int
    mtime: str | None
    etag: str | None
    version: str | None = None


@dataclass(frozen=True)
class SourceEntry:
    id: int
    path: str
    format: str
    bytes: int
    mtime: str | None
    etag: str | None
    sha256: str
    rows_read: int
    rows_dropped: int
    fingerprint: str | None = None  # "etag"/"etag+version": sha256 is that of "etag:<ETag>[:version:<VersionId>]"
    version_id: str | None = None   # the object's VersionId, when its bucket has versioning enabled

    @property
    def stamp(self) -> SourceStamp:
        return SourceStamp(self.path, self.bytes, self.mtime, self.etag, self.version_id)


@dataclass(frozen=True)
class ShardEntry:
    path: str
    group: dict[str, Any]
    part: int
    rows: int
    bytes: int
    sha256: str
    row_groups: list[int]
    time_min: str | None
    time_max: str | None
    label_counts: dict[str, int] | None = None


@dataclass(frozen=True)
class ColumnEntry:
    """A shard column: name and Arrow type name (``str(pa.DataType)``)."""
    name: str
    type: str

    @classmethod
    def of(cls, name: str, arrow_type: Any) -> "ColumnEntry":
        return cls(name, str(arrow_type))


@dataclass(frozen=True)
class GroupColumn:
    """A group column: its values live in the shard paths; ``derived_from`` names the time column
    for calendar parts (year, month, ...), None for a plain column of the table."""
    name: str
    type: str
    derived_from: str | None = None

    @classmethod
    def plain(cls, name: str, arrow_type: Any) -> "GroupColumn":
        """A column of the table, of Arrow type ``arrow_type`` (named as ``str(pa.DataType)``)."""
        return cls(name, str(arrow_type))

    @classmethod
    def derived(cls, part: str, time_column: str) -> "GroupColumn":
        """A calendar part (year, month, ..., date) of ``time_column``."""
        return cls(part, derived_type_name(part), derived_from=time_column)


@dataclass(frozen=True)
class Totals:
    rows_read: int
    rows_written: int
    rows_dropped: int
    shards: int
    groups: int
    bytes: int
    missing_times: int | None = None   # rows whose time was empty or null (None: no time column)


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a manifest field (dataclass entries become dicts)."""
    if dataclasses.is_dataclass(value):
        return _flat(value, _field_names(type(value)))
    if isinstance(value, list):
        if value and dataclasses.is_dataclass(value[0]):  # entries: every field a scalar, flat list or flat dict
            names = _field_names(type(value[0]))
            return [_flat(v, names) for v in value]
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _flat(entry: Any, names: tuple[str, ...]) -> dict[str, Any]:
    out = entry.__dict__.copy()  # a dataclass's attributes, in field order
    if len(out) != len(names):
        out = {name: getattr(entry, name) for name in names}
    for name in _containers(type(entry)):  # only fields that may hold a list or dict need a copy
        v = out[name]
        if type(v) is list or type(v) is dict:
            out[name] = v.copy()
    return out


_SCALARS = frozenset({"int", "str", "bool", "float", "int | None", "str | None", "bool | None", "float | None"})
_CONTAINERS: dict[type, tuple[str, ...]] = {}


def _containers(cls: type) -> tuple[str, ...]:
    names = _CONTAINERS.get(cls)
    if names is None:
        names = _CONTAINERS[cls] = tuple(f.name for f in dataclasses.fields(cls)
                                         if not (isinstance(f.type, str) and f.type in _SCALARS))
    return names


_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


@dataclass(frozen=True)
class FooterPack:
    """One object holding every shard's Parquet footer tail, in manifest shard order (footerpack.py):
    opening a dataset in object storage then costs one GET instead of one per shard."""
    path: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format_version: int
    tool_version: str
    created_at: str
    config: dict[str, Any]
    sources: list[SourceEntry]
    schema: list[ColumnEntry]
    group_columns: list[GroupColumn]
    time_column: str | None   # None: no time column (shards in source file and row order)
    label_column: str | None
    shards: list[ShardEntry]
    totals: Totals
    codecs: dict[str, str] = field(default_factory=dict)
    lineage_columns: dict[str, str] = field(
        default_factory=lambda: {"source_id": SOURCE_ID_COLUMN, "source_row": SOURCE_ROW_COLUMN}
    )
    # the commit number and its delta record (contract/versions.py); None in manifests older than versions,
    # which read as version 1 without records
    version: int | None = None
    version_record: str | None = None
    footer_pack: FooterPack | None = None   # None: no pack (older or local datasets); footers read per shard

    def to_dict(self) -> dict[str, Any]:
        # as dataclasses.asdict, a few times faster on 100k shards: entries hold scalars, flat lists and
        # flat dicts, so one level of copying is a deep copy
        data = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        for column in data["group_columns"]:  # plain group columns carry no derived_from key
            if column["derived_from"] is None:
                del column["derived_from"]
        if data["totals"]["missing_times"] is None:  # only a split with a time column counts them
            del data["totals"]["missing_times"]
        for source in data["sources"]:  # only sources fingerprinted otherwise than by sha256 say so
            for key in ("fingerprint", "version_id"):
                if source.get(key) is None:
                    source.pop(key, None)
        for key in ("version", "version_record", "footer_pack"):
            if data[key] is None:
                del data[key]
        return data

    @property
    def group_names(self) -> list[str]:
        return [g.name for g in self.group_columns]

    @property
    def column_types(self) -> dict[str, str]:
        """Arrow type names of the shard columns."""
        return {c.name: c.type for c in self.schema}

    @property
    def group_types(self) -> dict[str, str]:
        """Arrow type names of the group columns (they live in the paths, not in the files); a
        dictionary (a categorical group column of a dataset split before they were stored as their
        values) as its values' type: a path holds the value, never a code."""
        return {g.name: value_type_name(g.type) for g in self.group_columns}

    @property
    def number(self) -> int:
        """The version number (1 for a manifest written before versions existed)."""
        return self.version or 1

    def source_by_id(self) -> dict[int, SourceEntry]:
        return {s.id: s for s in self.sources}
