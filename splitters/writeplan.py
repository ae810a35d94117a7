"""How the reduce step writes the shards (its ``WriteContext``): the stored columns (plain
group columns live in the paths, not in the files), the codec of each column (codecs.py),
the --compact casts (from the value ranges the stage step measured), the columns worth
dictionary encoding, and the rows read per source for the conservation bitmaps."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN

from .codecs import choose_codecs
from .config import OutputSettings
from .reduce import WriteContext
from .sources import SourceFile
from .stage import StageResult
from .timescale import resolution


def compact_casts(schema: pa.Schema, ranges: dict[str, tuple]) -> list[tuple[str, str]]:
    """--compact: float64 -> float32 when every finite value fits float32's range (NaN and
    +-inf are kept as they are); integers -> the smallest type holding their range. Columns
    without a measured range (the time column) are left alone."""
    casts = []
    f32 = float(np.finfo(np.float32).max)
    for f in schema:
        if f.name not in ranges:
            continue
        lo, hi = ranges[f.name]
        if pa.types.is_float64(f.type):
            if -f32 <= lo and hi <= f32:
                casts.append((f.name, "float32"))
        elif pa.types.is_integer(f.type):
            for name in ("int8", "int16", "int32"):
                info = np.iinfo(name)
                if info.min <= lo and hi <= info.max:
                    if pa.type_for_alias(name).bit_width < f.type.bit_width:
                        casts.append((f.name, name))
                    break
    return casts


def measured_ranges(stage: list[StageResult]) -> dict[str, tuple]:
    """Column -> (min, max) over every staged batch (see stage.track_ranges)."""
    ranges: dict[str, tuple] = {}
    for r in stage:
        for name, (lo, hi) in r.value_ranges.items():
            a, b = ranges.get(name, (lo, hi))
            ranges[name] = (min(a, lo), max(b, hi))
    return ranges


def write_context(cfg: OutputSettings, sources: list[SourceFile], schema: pa.Schema, stage: list[StageResult],
                  shard_root: str, codecs: dict[str, str] | None = None) -> WriteContext:
    """``codecs``: the codec of each column when already chosen (an append keeps the dataset's)."""
    plain = set(cfg.plain_group_columns(schema.names))
    stored = pa.schema([f for f in schema if f.name not in plain])
    read_per_source = [0] * len(sources)
    for r in stage:
        read_per_source[r.source_id] += r.rows_read
    stored_with_lineage = pa.schema(list(stored) + [pa.field(SOURCE_ID_COLUMN, pa.int32()),
                                                    pa.field(SOURCE_ROW_COLUMN, pa.int64())])
    codecs = codecs or choose_codecs(sources[0], stored_with_lineage, cfg.compression,
                                     always=(cfg.time_column,) if cfg.time_column else (),
                                     min_saving=cfg.min_compression_saving, encoding=cfg.encoding)
    return WriteContext(
        shard_root=shard_root, compression=tuple(codecs.items()), row_group_size=cfg.row_group_size,
        max_rows_per_shard=cfg.max_rows_per_shard,
        casts=tuple(compact_casts(stored, measured_ranges(stage))) if cfg.compact else (),
        label=cfg.label, time_column=cfg.time_column, source_rows=tuple(read_per_source),
        time_resolution=resolution(schema.field(cfg.time_column).type, cfg.time_unit) if cfg.time_column else "us",
    )
