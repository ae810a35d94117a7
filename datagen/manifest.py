"""The lineage manifest: ``DIR/manifest.json``, read, written and validated here.

The splitter writes it last and atomically; the generator, ``datagen show``,
``datagen verify`` and provenance read it. Shard paths are POSIX paths relative
to the dataset directory; source paths are absolute local paths or fsspec URLs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ManifestError
from .hive import is_safe_relative

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
SOURCE_ID_COLUMN = "_source_id"
SOURCE_ROW_COLUMN = "_source_row"


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
class Manifest:
    format_version: int
    tool_version: str
    created_at: str
    config: dict[str, Any]
    sources: list[SourceEntry]
    schema: list[dict[str, str]]
    group_columns: list[dict[str, str]]
    time_column: str
    label_column: str | None
    shards: list[ShardEntry]
    totals: dict[str, int]
    codecs: dict[str, str] = field(default_factory=dict)
    lineage_columns: dict[str, str] = field(
        default_factory=lambda: {"source_id": SOURCE_ID_COLUMN, "source_row": SOURCE_ROW_COLUMN}
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def group_names(self) -> list[str]:
        return [g["name"] for g in self.group_columns]

    @property
    def column_types(self) -> dict[str, str]:
        return {c["name"]: c["type"] for c in self.schema}

    def source_by_id(self) -> dict[int, SourceEntry]:
        return {s.id: s for s in self.sources}


def manifest_path(directory: str | os.PathLike) -> Path:
    return Path(directory) / MANIFEST_NAME


def _require(obj: dict, key: str, kinds: type | tuple, where: str) -> Any:
    if key not in obj:
        raise ManifestError(f"{where}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kinds):
        names = kinds.__name__ if isinstance(kinds, type) else "/".join(k.__name__ for k in kinds)
        raise ManifestError(f"{where}: field {key!r} should be {names}, got {type(value).__name__}")
    return value


def _build(cls: type, obj: Any, where: str) -> Any:
    if not isinstance(obj, dict):
        raise ManifestError(f"{where}: expected an object, got {type(obj).__name__}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in obj:
            kwargs[f.name] = obj[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ManifestError(f"{where}: missing field {f.name!r}")
    return cls(**kwargs)


def manifest_from_dict(data: Any, origin: str = "manifest") -> Manifest:
    """Validate a decoded manifest and build a :class:`Manifest`."""
    if not isinstance(data, dict):
        raise ManifestError(f"{origin}: expected a JSON object, got {type(data).__name__}")
    version = _require(data, "format_version", int, origin)
    if version != FORMAT_VERSION:
        raise ManifestError(f"{origin}: format_version {version} is not supported (expected {FORMAT_VERSION})")
    sources = [_build(SourceEntry, s, f"{origin}: sources[{i}]") for i, s in enumerate(_require(data, "sources", list, origin))]
    shards = [_build(ShardEntry, s, f"{origin}: shards[{i}]") for i, s in enumerate(_require(data, "shards", list, origin))]
    manifest = _build(Manifest, {**data, "sources": sources, "shards": shards}, origin)
    _check_consistency(manifest, origin)
    return manifest


def _check_consistency(m: Manifest, origin: str) -> None:
    ids = [s.id for s in m.sources]
    if len(set(ids)) != len(ids):
        raise ManifestError(f"{origin}: duplicate source ids")
    seen: set[str] = set()
    names = m.group_names
    for shard in m.shards:
        if not is_safe_relative(shard.path):
            raise ManifestError(
                f"{origin}: shard path {shard.path!r} must be relative to the dataset directory "
                "and must not escape it"
            )
        if shard.path in seen:
            raise ManifestError(f"{origin}: shard path {shard.path!r} is listed twice")
        seen.add(shard.path)
        if sorted(shard.group) != sorted(names):
            raise ManifestError(
                f"{origin}: shard {shard.path!r} has group keys {sorted(shard.group)}, expected {sorted(names)}"
            )
        if sum(shard.row_groups) != shard.rows:
            raise ManifestError(
                f"{origin}: shard {shard.path!r} row groups add up to {sum(shard.row_groups)} rows, "
                f"but rows is {shard.rows}"
            )


def read_manifest(directory: str | os.PathLike) -> Manifest:
    """Read and validate ``DIR/manifest.json``; a clear error if it is not there."""
    directory = Path(directory)
    if not directory.exists():
        raise ManifestError(f"dataset directory {str(directory)!r} does not exist")
    path = manifest_path(directory)
    if not path.is_file():
        raise ManifestError(
            f"{str(path)!r} not found: {str(directory)!r} is not a finished dataset "
            "(the splitter writes the manifest last)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{str(path)!r} is not valid JSON: {exc}") from None
    return manifest_from_dict(data, origin=str(path))


def atomic_write_text(path: str | os.PathLike, text: str, durable: bool = False, tmp_name: str | None = None) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic: readers see the old file or the new one, never a part. The
    file is created with mode 0666 minus the umask, like any other file the process
    writes (not mkstemp's 0600). ``tmp_name`` fixes the temporary file's name (a caller
    that holds a lock and journals that name, so a killed write can be cleaned up);
    otherwise a fresh unique name is used. With ``durable`` the file is fsync'ed first
    (on ext4 that also flushes every other dirty file, which costs seconds right after
    writing a dataset)."""
    path = Path(path)
    if tmp_name is not None:
        tmp = path.parent / tmp_name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    else:
        while True:
            tmp = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
                break
            except FileExistsError:
                continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def render_manifest(manifest: Manifest) -> str:
    """Validate ``manifest`` and return the exact text :func:`write_manifest` writes."""
    data = manifest.to_dict()
    manifest_from_dict(json.loads(json.dumps(data)), origin="manifest being written")
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_manifest(directory: str | os.PathLike, manifest: Manifest, tmp_name: str | None = None) -> Path:
    """Validate, then write the manifest atomically (0666 minus the umask). Returns its path."""
    path = manifest_path(directory)
    atomic_write_text(path, render_manifest(manifest), tmp_name=tmp_name)
    return path
