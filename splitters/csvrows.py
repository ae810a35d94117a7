"""Which CSV record has the wrong number of fields, and blank lines: Arrow's parser says only
"Expected 2 columns, got 1" (no row: it cannot count rows when values may hold line ends). A
line of only spaces or tabs is skipped like an empty line (pandas' skip_blank_lines does the
same); any other record with too few or too many fields is refused naming the file and its data
row (0-based, as _source_row), the same whatever --blocksize: the type pass finds the record in
the piece it failed on (vectorised: separators are the commas outside quotes) and the plan adds
the rows of the blocks before it."""

from __future__ import annotations

import numpy as np

from .csvscan import COMMA, QUOTE, RecordScanner

_BLANK = np.frombuffer(b" \t\r\n", np.uint8)


def skip_blank(row) -> str:
    """Arrow's invalid_row_handler: skip a line of only spaces and tabs, refuse anything else."""
    return "skip" if not row.text.strip(" \t\r\n") else "error"


class BadRecord(ValueError):
    """A record whose field count is not the header's; ``row``: its data row within the text read."""

    def __init__(self, row: int, detail: str):
        super().__init__(detail)
        self.row, self.detail = row, detail


def find_bad_record(text: bytes) -> tuple[int, str] | None:
    """(data row, what is wrong) of the first record of ``text`` (a header record, then records)
    whose field count is not the header's; blank lines are not rows. None: every record fits."""
    scanner = RecordScanner()
    ends = [0] + [int(e) for e in scanner.feed(text, final=True)]
    if not ends or ends[-1] < len(text):
        ends.append(len(text))
    a = np.frombuffer(text, np.uint8)
    parity = np.cumsum(a == QUOTE) & 1
    separators = np.flatnonzero((a == COMMA) & (parity == 0))
    fields = np.diff(np.searchsorted(separators, ends)) + 1
    expected, row = int(fields[0]), 0
    for i in range(1, len(ends) - 1):
        record = a[ends[i]: ends[i + 1]]
        if np.isin(record, _BLANK).all():
            continue
        if int(fields[i]) != expected:
            shown = bytes(record).decode("utf-8", "replace").rstrip("\r\n")
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            return row, f"expected {expected} fields (as the header), got {int(fields[i])}: {shown!r}"
        row += 1
    return None
