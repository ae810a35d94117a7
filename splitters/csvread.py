"""How every CSV input is parsed: the Arrow read/parse options (RFC 4180, blank lines), the
words that are booleans or missing values, and the streaming reader the stage step uses."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv

from datagen.contract.errors import SourceError

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
    try:
        return pacsv.open_csv(fh, read_options=read, parse_options=parse,
                              convert_options=pacsv.ConvertOptions(column_types=column_types or {}, **CSV_BOOLS))
    except pa.ArrowInvalid as exc:
        raise SourceError(f"input {url!r}: cannot read as CSV: {exc}") from None
