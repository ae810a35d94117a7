"""Hexadecimal text stays text: Arrow's CSV parser reads ``0x1F`` as the integer 31 (and wraps
``0xFFFFFFFFFFFFFFFF`` to -1), where pandas keeps the characters. The type pass finds, per piece
of a block, the number columns holding such a value and makes them text (the join then gives the
column text over the whole input, so the stage step reads it as text, exact characters, and a
time column of hex epochs is text, refused as times). A piece is searched as bytes first (one
C-level regex); only a piece with a match is read again as text to find the columns."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

_ANY_HEX = re.compile(rb"0[xX][0-9a-fA-F]")
_HEX_VALUE = r"^\s*0[xX][0-9a-fA-F]"


def hex_columns(table: pa.Table, reopen, options, text: bytes | None) -> set[str]:
    """The number columns of ``table`` (one piece read with inference) whose text holds a value
    Arrow read as a hexadecimal number; ``reopen()`` gives the piece's text again, ``options`` the
    (read, parse) options it was read with, ``text`` the bytes when in memory (None: unknown)."""
    numbers = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
    if not numbers or (text is not None and not _ANY_HEX.search(text)):
        return set()
    read, parse = options
    convert = pacsv.ConvertOptions(include_columns=numbers, column_types={n: pa.string() for n in numbers})
    with reopen() as fh:
        raw = pacsv.read_csv(fh, read_options=read, parse_options=parse, convert_options=convert)
    return {n for n in numbers if pc.any(pc.match_substring_regex(raw.column(n), _HEX_VALUE)).as_py()}
