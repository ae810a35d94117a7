"""CSV column types from the whole input: each block of each CSV file (see csvscan.py) is parsed
once by Arrow with type inference over all of its rows (in record-aligned pieces of a few MiB, so
memory stays bounded); the blocks' types are joined per column over all CSV files
(``unify.csv_join``: types only widen, null < bool; null < int64 < float64; null < date32 <
timestamp; anything else together is text, which holds the file's exact characters). Booleans
are the words true/false only, so the join of any split of the rows into blocks is the type of
all of them: the types never depend on --blocksize. The same pass counts each block's rows, so a
block's first ``_source_row`` is the sum of the rows of the blocks before it, and notes what
csvexact.py needs to refuse an integer a float64 column would round. (filekinds.py: what a .csv is.)

The stage step then reads each block with explicit types: a number column with the type the block itself
holds (an int64 block of a float64 column is cast exactly by ``sources.conform``), every other column with the final type."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pacsv

from datagen.contract.errors import SourceError

from .csvexact import float_big_ints, int_extremes
from .csvhex import hex_columns
from .csvrows import BadRecord, find_bad_record, not_utf8
from .csvstamps import merge_stamps, piece_stamps, stamp_type
from .csvscan import CHUNK_BYTES, WHOLE, BlockStream, CsvLayout, RecordScanner, ascii_safe, scan_layout, splittable
from .csvread import CSV_BOOLS, csv_options
from .filekinds import check_uncompressed
from .sources import SourceFile, check_names, open_binary, read_error
from .unify import csv_join


@dataclass(frozen=True)
class CsvBlock:
    source_id: int
    url: str
    index: int                      # within the file
    header: bytes
    start: int
    end: int | None                 # None: the whole file as one stream (header included)
    pieces: tuple[int, ...] = ()    # record starts in [start, end) where the type pass cuts it


@dataclass(frozen=True)
class BlockInfo:
    names: tuple[str, ...]
    types: tuple[pa.DataType, ...]  # as Arrow infers them over the block's rows
    rows: int
    int_extremes: dict = field(default_factory=dict)    # see csvexact.py
    float_big_ints: dict = field(default_factory=dict)
    stamps: dict = field(default_factory=dict)          # see csvstamps.py
    bad: tuple | None = None        # (data row within the block, what is wrong, advice): see csvrows.py


def csv_blocks(src: SourceFile, blocksize: int, encoding: str | None) -> list[CsvBlock]:
    """The blocks of one CSV source (one block when it cannot be cut; see csvscan.py)."""
    layout = CsvLayout(b"", WHOLE)
    if splittable(src.url, encoding):
        try:
            with open_binary(src.url) as fh:
                check_uncompressed(src.url, fh)
                layout = scan_layout(fh, src.bytes, blocksize)
        except Exception as exc:              # a SourceError (check_uncompressed) is raised as it is
            raise read_error(src.url, exc) from None
    return [CsvBlock(src.id, src.url, i, layout.header, s, e, tuple(p for p in layout.pieces if s <= p < (e or 0)))
            for i, (s, e) in enumerate(layout.blocks)]


def open_block(block: CsvBlock):
    """A binary stream of the block's text: the header record, then its records."""
    fh = open_binary(block.url)
    if block.end is None:
        return fh
    return io.BufferedReader(BlockStream(fh, block.header, block.start, block.end), 1 << 20)


def _pieces(fh):
    """Record-aligned byte strings of about CHUNK_BYTES, each starting with the stream's header
    record; None when a misplaced quote means records cannot be found by scanning."""
    scanner = RecordScanner()
    header, buf, pos = None, b"", 0           # pos: absolute offset of buf[0]
    while True:
        data = fh.read(CHUNK_BYTES)
        ends = scanner.feed(data, final=not data)
        if not scanner.clean:
            yield None
            return
        buf += data
        if header is None and len(ends):
            header, buf, pos = buf[: ends[0]], buf[ends[0]:], int(ends[0])
            ends = ends[1:]
        if header is None:
            if not data:
                yield buf                     # the header only, without a line end
                return
            continue
        cut = len(buf) if not data else int(ends[-1]) - pos if len(ends) else 0
        if cut > 0 or not data:
            yield header + buf[:cut]
            buf, pos = buf[cut:], pos + cut
        if not data:
            return


def _read(fh, encoding: str | None, text: str | None, raw: bytes | None = None) -> pa.Table:
    read, parse = csv_options(1 << 20, encoding)
    if raw is not None and (undecodable := not_utf8(raw, encoding)) is not None:
        raise undecodable                     # before Arrow prints a decode error (csvrows.py)
    try:
        return pacsv.read_csv(fh, read_options=read, parse_options=parse, convert_options=pacsv.ConvertOptions(
            column_types={text: pa.string()} if text else {}, **CSV_BOOLS))
    except pa.ArrowInvalid as exc:            # which record has the wrong field count (Arrow cannot say)
        bad = raw is not None and ascii_safe(encoding) and "columns, got" in str(exc) and find_bad_record(raw, encoding)
        if not bad:
            raise
        raise BadRecord(*bad) from None


def _tables(block: CsvBlock, encoding: str | None, text: str | None):
    """The block as (Arrow table typed by inference over its own rows, a way to reopen its text,
    the text when in memory)."""
    if block.end is not None:                 # cut where the scan found record starts
        bounds = list(block.pieces or (block.start,)) + [block.end]
        with open_binary(block.url) as fh:
            for start, end in zip(bounds, bounds[1:]):
                fh.seek(start)
                piece = block.header + fh.read(end - start)
                yield _read(io.BytesIO(piece), encoding, text, piece), (lambda p=piece: io.BytesIO(p)), piece, encoding
        return
    if not ascii_safe(encoding):              # bytes cannot be scanned: Arrow decodes and parses
        yield from _restated(block, encoding, text)
        return
    with open_block(block) as fh:
        for piece in _pieces(fh):
            if piece is None:                 # unclean quoting: Arrow reads the whole block in one go
                break
            yield _read(io.BytesIO(piece), encoding, text, piece), (lambda p=piece: io.BytesIO(p)), piece, encoding
        else:
            return
    yield None, None, None, None
    yield from _restated(block, encoding, text)


def _restated(block: CsvBlock, encoding: str | None, text_column: str | None):
    """A block whose records cannot be found by scanning (a quote inside an unquoted field): Arrow's
    own parser streams it as text in batches of about a MiB, each written again as clean CSV and
    read back with inference (quoting changes no inferred type), so memory stays bounded."""
    read, parse = csv_options(1 << 20, encoding)
    with open_block(block) as fh:
        names = pacsv.open_csv(fh, read_options=read, parse_options=parse).schema.names
    as_text = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
    with open_block(block) as fh:
        batches = pacsv.open_csv(fh, read_options=read, parse_options=parse, convert_options=as_text)
        empty = True
        for batch in batches:
            empty = False
            out = io.BytesIO()
            pacsv.write_csv(pa.Table.from_batches([batch]), out)
            text = out.getvalue()
            yield _read(io.BytesIO(text), None, text_column), (lambda t=text: io.BytesIO(t)), text, None
        if empty:                             # the header only
            yield pa.table({n: pa.nulls(0) for n in names}), (lambda: io.BytesIO(b"")), b"", None


def infer_block(block: CsvBlock, encoding: str | None, text: str | None = None) -> BlockInfo:
    """Arrow's types for every column over all the block's rows, its row count and what
    csvexact.py needs to refuse a rounded integer."""
    names: tuple[str, ...] | None = None
    types: list[list[pa.DataType]] = []
    rows = 0
    extremes: dict[str, int] = {}
    big: dict[str, str] = {}
    stamps: dict = {}
    try:
        for table, reopen, raw, raw_encoding in _tables(block, encoding, text):
            if table is None:                 # start again from the whole block
                names, types, rows, extremes, big, stamps = None, [], 0, {}, {}, {}
                continue
            if names is None:
                names = tuple(table.column_names)
                types = [[] for _ in names]
            options = csv_options(1 << 20, raw_encoding)
            hexed = hex_columns(table, reopen, options, raw)
            retyped, facts = piece_stamps(table, reopen, options)
            merge_stamps(stamps, facts)
            for i, f in enumerate(table.schema):
                types[i].append(pa.string() if f.name in hexed else retyped.get(f.name, f.type))
            rows += table.num_rows
            for name, value in int_extremes(table).items():
                if abs(value) > abs(extremes.get(name, 0)):
                    extremes[name] = value
            for name, value in float_big_ints(table, reopen, options, raw).items():
                big.setdefault(name, value)
    except BadRecord as exc:                  # the plan names the file's data row (csvplan.check_records)
        return BlockInfo(names or (), (), rows, bad=(rows + exc.row, exc.detail, exc.advice))
    except SourceError:
        raise
    except Exception as exc:
        raise read_error(block.url, exc) from None
    return BlockInfo(names or (), tuple(stamp_type(csv_join(t), stamps.get(n)) for n, t in zip(names or (), types)),
                     rows, extremes, big, stamps)


def file_schema(src: SourceFile, infos: list[BlockInfo], joined: dict[str, pa.DataType], time_column: str,
                time_unit: str | None, encoding: str | None) -> pa.Schema:
    """The read schema of one CSV source: the types joined over every CSV block of the input."""
    names = list(infos[0].names)
    check_names(src, names)
    fields = []
    for name in names:
        t = joined[name]
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            raise SourceError(f"input {src.url!r}: column {name!r} is not {encoding or 'UTF-8'} text; pass its "
                              "encoding, e.g. --encoding latin-1")
        if name == time_column and not (time_unit and (pa.types.is_integer(t) or pa.types.is_floating(t))):
            t = pa.string()                   # times are parsed by stage_times unless epoch numbers
        fields.append(pa.field(name, t))
    return pa.schema(fields)


def joined_types(infos: list[BlockInfo]) -> dict[str, pa.DataType]:
    """Column -> the join of its types over every block given (of all CSV files)."""
    seen: dict[str, list[pa.DataType]] = {}
    stamps: dict = {}
    for info in infos:
        merge_stamps(stamps, info.stamps)
        for n, t in zip(info.names, info.types):
            seen.setdefault(n, []).append(t)
    return {n: stamp_type(csv_join(ts), stamps.get(n)) for n, ts in seen.items()}


_UNITS = ("s", "ms", "us", "ns")


def read_types(info: BlockInfo, schema: pa.Schema) -> tuple[tuple[str, pa.DataType], ...]:
    """The types the stage step reads a block with: a number column as the block holds it (cast
    exactly afterwards, readcast.py), any other column as the final type; for an --append, text
    into an integer column as floats, and times at a finer unit than the stored one."""
    out = []
    for name, have in zip(info.names, info.types):
        final = schema.field(name).type
        numeric = lambda t: pa.types.is_integer(t) or pa.types.is_floating(t)  # noqa: E731
        if pa.types.is_integer(final) and (pa.types.is_string(have) or pa.types.is_large_string(have)):
            have = pa.float64()   # --append: Arrow's int parser takes hex (0xFF..FF as -1), its float parser refuses it
        elif pa.types.is_timestamp(final) and pa.types.is_timestamp(have) and _UNITS.index(have.unit) > _UNITS.index(final.unit):
            final = pa.timestamp(have.unit, final.tz)   # --append: '.001000' read at its unit, cast exactly later
        out.append((name, have if numeric(final) and numeric(have) else final))
    return tuple(out)
