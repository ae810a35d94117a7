"""Where a CSV file's records start, found by one streaming pass from the start of the file with
quote-state tracking (RFC 4180): the header's bytes and the byte ranges of the blocks the stage
step reads in parallel, each starting at a record start (never inside a quoted field).

A line end (LF, CRLF or a lone CR) ends a record when an even number of quote characters precede
it since the last record start; an escaped quote (``""``) counts twice, so it never changes the
state. The scan is vectorised (numpy) over chunks of a few MiB. It also checks that every quote
sits where RFC 4180 allows one (an opening quote after a comma, a line end or another quote; a
closing one before those or the end of the file); a file where a quote stands inside an unquoted
field (``5'10"``) is not split ("unclean"): it is one block, read in order by Arrow's own parser.
A quote still open at the end of an otherwise clean file is refused (``UnclosedQuote``), naming
the data row it opens in (Arrow would take the rest of the file, line ends included, as its value). Compressed files and text encodings whose bytes are not ASCII for ``"``,
``,``, CR and LF (UTF-16, ...) are one block too."""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass

import numpy as np

QUOTE, COMMA, LF, CR = 0x22, 0x2C, 0x0A, 0x0D
# _EDGE[b + 1]: whether byte b may stand next to a quote (b = -1: the end of the file)
_EDGE = np.zeros(257, bool)
_EDGE[[0, COMMA + 1, LF + 1, CR + 1, QUOTE + 1]] = True
CHUNK_BYTES = 8 << 20
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


def splittable(url: str, encoding: str | None) -> bool:
    """Whether byte offsets can cut ``url`` (uncompressed, and its encoding writes the four
    structural characters as single ASCII bytes that no other character's bytes contain)."""
    return not url.lower().endswith(COMPRESSED) and ascii_safe(encoding)


def ascii_safe(encoding: str | None) -> bool:
    """Whether ``encoding`` writes ``"``, ``,``, CR and LF as single ASCII bytes that no other
    character's bytes contain (UTF-8, Latin-1, cp1252, ...; not UTF-16)."""
    name = codecs.lookup(encoding or "utf-8").name
    if name.startswith(("utf-16", "utf-32", "utf-7")):
        return False
    try:
        return '",\r\n'.encode(name) == b'",\r\n'
    except UnicodeError:
        return False


class UnclosedQuote(ValueError):
    """A clean file ends inside a quoted field that opens in data row ``row`` (-1: the header)."""

    def __init__(self, row: int):
        where = "the header" if row < 0 else f"data row {row} (0-based, as _source_row)"
        super().__init__(f"a quoted field in {where} is never closed: the file ends inside it; add the closing "
                         "quote (or remove the opening one)")
        self.row = row


class RecordScanner:
    """Feed bytes from a record start; ``feed`` returns the absolute offsets just after each record
    end found (in order). ``clean`` turns False at the first misplaced quote."""

    def __init__(self, offset: int = 0):
        self.offset = offset      # absolute offset of ``self._carry``'s first byte
        self._carry = b""
        self._odd = False         # inside a quoted field
        self._prev = LF           # the byte before the carry (a record start at the beginning)
        self.clean = True
        self.records = 0          # record ends found so far (the header's included)

    def feed(self, data: bytes, final: bool = False) -> np.ndarray:
        buf = self._carry + data
        if not buf:
            return np.empty(0, np.int64)
        # keep the last byte back (its successor decides a lone CR and a closing quote) unless final
        n = len(buf) if final else len(buf) - 1
        if n == 0:
            self._carry = buf
            return np.empty(0, np.int64)
        a = np.frombuffer(buf, np.uint8)

        def after(pos: np.ndarray) -> np.ndarray:   # the byte after each position; -1 at the end of the file
            return np.where(pos + 1 < len(a), a[np.minimum(pos + 1, len(a) - 1)].astype(np.int16), -1)

        head = a[:n]
        quotes = np.flatnonzero(head == QUOTE)
        eol = head == LF
        crs = np.flatnonzero(head == CR)
        if len(crs):                            # a lone CR ends a line too (CRLF ends at its LF)
            eol[crs[after(crs) != LF]] = True
        eols = np.flatnonzero(eol)
        if len(quotes):
            odd_before = (np.searchsorted(quotes, eols) + self._odd) & 1
            ends = eols[odd_before == 0] + 1 + self.offset
            k = (np.arange(len(quotes)) + self._odd) & 1
            opening, closing = quotes[k == 0], quotes[k == 1]
            before = np.where(opening > 0, a[np.maximum(opening - 1, 0)], self._prev).astype(np.int16) + 1
            if not _EDGE[before].all() or not _EDGE[after(closing) + 1].all():
                self.clean = False
            self._odd = bool((len(quotes) + self._odd) % 2)
        elif self._odd:
            ends = np.empty(0, np.int64)        # the whole chunk lies inside one quoted field
        else:
            ends = eols + 1 + self.offset
        self.records += len(ends)
        if final and self._odd:
            if self.clean:
                raise UnclosedQuote(self.records - 1)
            self.clean = False                  # a quoted field never closed
        self._prev = int(a[n - 1])
        self._carry = buf[n:]
        self.offset += n
        return ends


@dataclass(frozen=True)
class CsvLayout:
    """How the stage step reads one CSV file: ``header`` (the raw header record, prepended to every
    block) and ``blocks``, byte ranges of data records; ``header == b""`` with the one block
    ``(0, None)`` means: read the whole (decompressed) file as it is. ``pieces``: the record starts
    about every PIECE_BYTES (and every block start), where the type pass cuts a block."""

    header: bytes
    blocks: tuple[tuple[int, int | None], ...]
    pieces: tuple[int, ...] = ()


WHOLE = ((0, None),)
PIECE_BYTES = CHUNK_BYTES


class _Cuts:
    """Record starts, the first at or after each multiple of ``step`` (and after ``first``)."""

    def __init__(self, step: int):
        self.step, self.target, self.starts = step, step, []

    def add(self, ends: np.ndarray, first: int, size: int) -> None:
        while len(ends) and self.target <= ends[-1]:
            start = int(ends[np.searchsorted(ends, self.target)])
            if first < start < size and (not self.starts or start > self.starts[-1]):
                self.starts.append(start)
            self.target = max(self.target + self.step, start + 1)


def scan_layout(fh, size: int, blocksize: int) -> CsvLayout:
    """The layout of an uncompressed file ``fh`` of ``size`` bytes, cut about every ``blocksize`` bytes."""
    scanner = RecordScanner()
    header_end = None
    blocks, pieces = _Cuts(blocksize), _Cuts(min(blocksize, PIECE_BYTES))
    head = bytearray()
    while True:
        data = fh.read(CHUNK_BYTES)
        ends = scanner.feed(data, final=not data)
        if not scanner.clean:
            return CsvLayout(b"", WHOLE)
        if header_end is None:
            head += data
            if len(ends):
                header_end = int(ends[0])
                ends = ends[1:]
        if header_end is not None:
            blocks.add(ends, header_end, size)
            pieces.add(ends, header_end, size)
        if not data:
            break
    if header_end is None:                    # a header without a line end: no data
        header_end = size
    header = bytes(head[:header_end]) if header_end <= len(head) else None
    if header is None:                        # a header longer than the first chunk(s)
        fh.seek(0)
        header = fh.read(header_end)
    bounds = [header_end] + blocks.starts + [size]
    return CsvLayout(header, tuple((bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)),
                     tuple(sorted(set(pieces.starts) | set(bounds[:-1]))))


class BlockStream(io.RawIOBase):
    """A readable stream of ``header`` followed by the bytes ``[start, end)`` of ``fh``."""

    def __init__(self, fh, header: bytes, start: int, end: int):
        super().__init__()
        self._fh, self._pre, self._left = fh, header, end - start
        fh.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        view = memoryview(b).cast("B")
        got = 0
        if self._pre:
            take = self._pre[: len(view)]
            view[: len(take)] = take
            self._pre = self._pre[len(take):]
            got = len(take)
        while got < len(view) and self._left > 0:
            data = self._fh.read(min(len(view) - got, self._left))
            if not data:
                raise EOFError(f"the file ended {self._left} bytes early (did it change while being read?)")
            view[got: got + len(data)] = data
            got += len(data)
            self._left -= len(data)
        return got
