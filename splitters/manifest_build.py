"""The manifest of a finished split, from what the driver gathered: the sources with their
fingerprints and row counts, the shard schema, the group columns, the codecs and the
shards under their published names. Format rules (type names, field meanings) are the
contract's (datagen/contract/format.py); this only fills them in."""

from __future__ import annotations

import datetime as _dt

import pyarrow as pa

from datagen._version import __version__
from datagen.contract.format import (FORMAT_VERSION, ColumnEntry, GroupColumn, Manifest, ShardEntry, SourceEntry,
                                     Totals)

from .config import OutputSettings
from .sources import SourceFile


def group_columns(cfg: OutputSettings, schema: pa.Schema) -> list[GroupColumn]:
    derived = cfg.derived_group_parts(schema.names)
    return [GroupColumn.derived(g, cfg.time_column) if g in derived
            else GroupColumn.plain(g, schema.field(g).type) for g in cfg.group_by]


def build_manifest(cfg: OutputSettings, sources: list[SourceFile], fingerprints: list[str],
                   counts: dict[int, tuple[int, int, int]], schema: pa.Schema, shard_schema: pa.Schema,
                   codecs: dict[str, str], groups: int, shards: list[ShardEntry], missing_times: int = 0) -> Manifest:
    """``counts``: source id -> (rows read, written, dropped), as the conservation check proved them;
    ``missing_times``: rows with an empty or null time (totals.missing_times; absent without a time column);
    ``schema``: the unified input schema; ``shard_schema``: the columns a shard holds."""
    return Manifest(
        format_version=FORMAT_VERSION,
        tool_version=__version__,
        created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        config=cfg.semantic(),
        sources=[SourceEntry(s.id, s.url, s.format, s.bytes, s.mtime, s.etag, fingerprints[s.id],
                             counts[s.id][0], counts[s.id][2], version_id=s.version) for s in sources],
        schema=[ColumnEntry.of(f.name, f.type) for f in shard_schema],
        group_columns=group_columns(cfg, schema),
        time_column=cfg.time_column,
        label_column=cfg.label,
        shards=shards,
        codecs=codecs,
        totals=Totals(rows_read=sum(c[0] for c in counts.values()),
                      rows_written=sum(c[1] for c in counts.values()),
                      rows_dropped=sum(c[2] for c in counts.values()), shards=len(shards),
                      groups=groups, bytes=sum(s.bytes for s in shards),
                      missing_times=missing_times if cfg.time_column is not None else None),
    )
