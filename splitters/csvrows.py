"""Which CSV record has the wrong number of fields, and blank lines: Arrow's parser says only
"Expected 2 columns, got 1" (no row: it cannot count rows when values may hold line ends). A
line of only spaces or tabs is skipped like an empty line (pandas' skip_blank_lines does the
same); any other record with too few or too many fields is refused naming the file and its data
row (0-based, as _source_row), the same whatever --blocksize: the type pass finds the record in
the piece it failed on (vectorised: separators are the commas outside quotes) and the plan adds
the rows of the blocks before it. Text read as UTF-8 that is not (a cp1252 export) is refused
naming the data row and column of its first undecodable byte, before Arrow parses it."""

from __future__ import annotations

import codecs
import sys

import numpy as np

from .csvscan import COMMA, QUOTE, RecordScanner

_BLANK = np.frombuffer(b" \t\r\n", np.uint8)


def skip_blank(row) -> str:
    """Arrow's invalid_row_handler: skip a line of only spaces and tabs, refuse anything else."""
    return "skip" if not row.text.strip(" \t\r\n") else "error"


def _quiet_decode_errors(unraisable, _previous=sys.unraisablehook) -> None:
    """Arrow decodes a ragged record's bytes as UTF-8 before calling skip_blank; bytes that are not
    UTF-8 make it print an "Exception ignored" traceback and then fail the read with its own parse
    error (reported by name: csvtypes.py, sources.read_error). That one print is dropped here."""
    if unraisable.object is skip_blank and isinstance(unraisable.exc_value, UnicodeDecodeError):
        return
    _previous(unraisable)


sys.unraisablehook = _quiet_decode_errors


class BadRecord(ValueError):
    """A record that cannot be read; ``row``: its data row within the text read (-1: the header),
    ``advice``: the way out."""

    def __init__(self, row: int, detail: str, advice: str = "fix or remove that record"):
        super().__init__(detail)
        self.row, self.detail, self.advice = row, detail, advice


def _records(text: bytes):
    """(bytes as uint8, offsets of record starts with len(text) last, unquoted comma offsets)."""
    ends = [0] + [int(e) for e in RecordScanner().feed(text, final=True)]
    if ends[-1] < len(text):
        ends.append(len(text))
    a = np.frombuffer(text, np.uint8)
    parity = np.cumsum(a == QUOTE) & 1
    return a, ends, np.flatnonzero((a == COMMA) & (parity == 0))


def not_utf8(text: bytes, encoding: str | None) -> BadRecord | None:
    """The first byte of ``text`` (a header record, then records) that is not UTF-8 when the text is
    read as UTF-8 (``encoding`` None or UTF-8), naming its data row and column; None: it is UTF-8."""
    if text.isascii() or (encoding is not None and codecs.lookup(encoding).name != "utf-8"):
        return None
    try:
        text.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        at = exc.start
    a, ends, separators = _records(text)
    record = int(np.searchsorted(ends, at, side="right")) - 1
    solid = np.concatenate([[0], np.cumsum(~np.isin(a, _BLANK))])   # bytes not blank before each offset
    starts = np.asarray(ends[1: record + 1])
    blank = int(np.count_nonzero(solid[starts[1:]] == solid[starts[:-1]])) if record > 1 else 0
    column = int(np.searchsorted(separators, at) - np.searchsorted(separators, ends[record]))
    head_end = ends[1] if len(ends) > 1 else len(text)
    cuts = [0] + [int(c) + 1 for c in separators[separators < head_end]]
    names = [text[s: e - 1].decode("utf-8", "replace").strip('\r\n"\ufeff')
             for s, e in zip(cuts, cuts[1:] + [head_end + 1])]
    name = f"column {names[column]!r}" if record > 0 and column < len(names) else f"column {column + 1}"
    return BadRecord(record - 1 - blank, f"{name} is not UTF-8 text (byte {text[at]:#04x})",
                     "pass its encoding, e.g. --encoding latin-1 (or cp1252 for an Excel export)")


def find_bad_record(text: bytes, encoding: str | None = None) -> tuple[int, str] | None:
    """(data row, what is wrong) of the first record of ``text`` (a header record, then records, in
    ``encoding``, None: UTF-8) whose field count is not the header's; blank lines are not rows.
    None: every record fits."""
    a, ends, separators = _records(text)
    fields = np.diff(np.searchsorted(separators, ends)) + 1
    expected, row = int(fields[0]), 0
    for i in range(1, len(ends) - 1):
        record = a[ends[i]: ends[i + 1]]
        if np.isin(record, _BLANK).all():
            continue
        if int(fields[i]) != expected:
            shown = bytes(record).decode(encoding or "utf-8", "replace").rstrip("\r\n")
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            return row, f"expected {expected} fields (as the header), got {int(fields[i])}: {shown!r}"
        row += 1
    return None
