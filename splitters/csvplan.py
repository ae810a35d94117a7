"""The CSV inputs' first pass, driven from split.py: one scan task per file (csvscan.py: its
blocks), then one type task per block, in parallel (csvtypes.py: types and row counts); then each
block's stage work unit (its first ``_source_row`` and the types it is read with)."""

from __future__ import annotations

import pyarrow as pa

from datagen.contract.errors import SourceError

from .csvtypes import BlockInfo, CsvBlock, csv_blocks, file_schema, infer_block, joined_types, read_types
from .sources import SourceFile

MAX_BLOCKS_PER_FILE = 4096   # a tiny --blocksize on a big file makes at most this many tasks


def scan_csv_input(engine, sources: list[SourceFile], blocksize: int, encoding: str | None, time_column: str,
                   time_unit: str | None) -> tuple[dict[int, pa.Schema], dict[int, list[tuple[CsvBlock, BlockInfo]]]]:
    """The first pass over the CSV sources: their blocks (one scan task per file) and each block's
    types and rows (one task per block, in parallel). Returns source id -> read schema (types joined
    over all CSV files) and source id -> [(block, info)] in file order."""
    csv_sources = [s for s in sources if s.format == "csv"]
    if not csv_sources:
        return {}, {}
    sizes = [max(blocksize, -(-s.bytes // MAX_BLOCKS_PER_FILE)) for s in csv_sources]
    per_file = engine.map(_blocks_of, list(zip(csv_sources, sizes)), encoding, desc="csv scan")
    blocks = [b for bl in per_file for b in bl]
    # the time column is text unless epoch numbers (its type is not needed then: no timestamp parsing)
    infos = engine.map(infer_block, blocks, encoding, None if time_unit else time_column, desc="csv types")
    check_records(blocks, infos)
    joined = joined_types(infos)
    by_source: dict[int, list[tuple[CsvBlock, BlockInfo]]] = {s.id: [] for s in csv_sources}
    for block, info in zip(blocks, infos):
        by_source[block.source_id].append((block, info))
    schemas = {s.id: file_schema(s, [i for _, i in by_source[s.id]], joined, time_column, time_unit, encoding)
               for s in csv_sources}
    return schemas, by_source


def check_records(blocks: list[CsvBlock], infos: list[BlockInfo]) -> None:
    """Refuse the first record with the wrong field count, naming its file and data row (the rows
    of the file's blocks before it added: the same whatever --blocksize)."""
    before: dict[int, int] = {}
    for block, info in zip(blocks, infos):
        if info.bad is not None:
            row, detail, advice = info.bad
            row += before.get(block.source_id, 0)
            where = "the header" if row < 0 else f"data row {row} (0-based, as _source_row)"
            raise SourceError(f"input {block.url!r}: {where}: {detail}; {advice}")
        before[block.source_id] = before.get(block.source_id, 0) + info.rows


def _blocks_of(item: tuple[SourceFile, int], encoding: str | None) -> list[CsvBlock]:
    src, blocksize = item
    return csv_blocks(src, blocksize, encoding)


def csv_units(by_source: dict[int, list[tuple[CsvBlock, BlockInfo]]], schema: pa.Schema) -> dict[int, list]:
    """Source id -> [(block, its first data row, the types it is read with)] for plan.plan_units."""
    out = {}
    for sid, pairs in by_source.items():
        first, units = 0, []
        for block, info in pairs:
            units.append((block, first, read_types(info, schema)))
            first += info.rows
        out[sid] = units
    return out
