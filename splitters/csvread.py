"""How every CSV input is parsed: the Arrow read/parse options (RFC 4180, blank lines), the
words that are booleans or missing values, and the streaming reader the stage step uses."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.csv as pacsv

from datagen.contract.errors import SourceError

from .csvscan import ascii_safe
from .missing_times import NA_TEXT


def csv_options(block_size: int, encoding: str | None) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions]:
    """How every CSV read parses: RFC 4180, quoted fields may hold line ends (costs ~10%); a line of
    only spaces and tabs is skipped like an empty one (csvrows.py)."""
    from .csvrows import skip_blank

    return (pacsv.ReadOptions(block_size=block_size, encoding=encoding or "utf8"),
            pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip_blank))


# booleans are words only: with Arrow's default "1"/"0" a column's type would depend on how its
# values fall into blocks ({0, true} is bool, {0} int64 + {true} bool is text), see csvtypes.py;
# a missing value (in a number, bool or time column; text keeps its characters) is spelt as pandas'
# read_csv spells it by default, the list missing_times.py uses for times ("None" included)

CSV_BOOLS = {"true_values": ["true", "True", "TRUE"], "false_values": ["false", "False", "FALSE"],
             "null_values": ["", *NA_TEXT]}


def csv_reader(fh, url: str, column_types: dict[str, pa.DataType] | None, block_size: int,
               encoding: str | None = None) -> pacsv.CSVStreamingReader:
    """A streaming CSV reader over an open binary file ``fh`` (``url`` names it in errors) whose text
    is in ``encoding`` (None: UTF-8)."""
    read, parse = csv_options(block_size, encoding)
    header = _peek_header(fh, encoding)
    try:
        return _Named(pacsv.open_csv(fh, read_options=read, parse_options=parse,
                                     convert_options=pacsv.ConvertOptions(column_types=column_types or {}, **CSV_BOOLS)))
    except pa.ArrowInvalid as exc:
        raise SourceError(f"input {url!r}: cannot read as CSV: {_named(exc, header, column_types)}") from None


def _peek_header(fh, encoding: str | None) -> list[str] | None:
    """The header's column names, when the stream can show its first line without consuming it."""
    try:
        head = fh.peek(1 << 16) if hasattr(fh, "peek") and ascii_safe(encoding) else b""
        line, found, _ = head.partition(b"\n")
        if not found or not line or b'"' in line:   # a header cut by the buffer, or quoted: not named
            return None
        return [n.strip("\r") for n in line.decode(encoding or "utf8").lstrip("\ufeff").split(",")]
    except Exception:   # only an error message's wording depends on it
        return None


_COLUMN = re.compile(r"In CSV column #(\d+): (?:Row #\d+: )?(?:CSV conversion error to (.+?): )?")


def _named(exc: BaseException, names: list[str] | None, types: dict | None = None) -> str:
    """Arrow's CSV conversion error with the column's name for its number: from the header when
    known, else the one column read as the type named (the header is not known yet)."""
    text = " ".join(str(exc).split())
    m = _COLUMN.search(text)
    if m is None:
        return text
    name = None
    if names is not None and int(m.group(1)) < len(names):
        name = names[int(m.group(1))]
    elif types and m.group(2):
        same = [n for n, t in types.items() if str(t) == m.group(2)]
        name = same[0] if len(same) == 1 else None
    return text if name is None else text.replace(f"In CSV column #{m.group(1)}: ", f"column {name!r}: ")


class _Named:
    """A streaming CSV reader whose conversion errors (a value that does not parse as its column's
    type) name the column rather than its number."""

    def __init__(self, reader: pacsv.CSVStreamingReader):
        self._reader = reader
        self.schema = reader.schema

    def __iter__(self):
        it = iter(self._reader)
        while True:
            try:
                batch = next(it)
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise pa.ArrowInvalid(_named(exc, self.schema.names)) from None
            yield batch
