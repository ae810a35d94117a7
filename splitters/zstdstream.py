"""Reading a ``.csv.zst`` input, one frame after another, refusing one that is cut short.

fsspec hands ``.zst`` files to zstandard's ``stream_reader``, which returns the bytes it has when
the file ends inside a frame: a truncated download was split as if complete, its last value cut
mid-number (exit 0, verify OK). Here each frame is fed to a ``decompressobj`` and the end of the
file inside a frame raises ``EOFError``, which sources.read_error reports as a truncated input, as
it does for gzip, bzip2 and xz."""

from __future__ import annotations

import io

CHUNK = 1 << 20


class ZstdStream(io.RawIOBase):
    def __init__(self, raw, url: str):
        import zstandard

        self._raw, self._url = raw, url
        self._zd = zstandard.ZstdDecompressor()
        self._obj = self._zd.decompressobj()
        self._out = bytearray()
        self._pos = 0
        self._in_frame = False
        self._done = False

    def readable(self) -> bool:
        return True

    def _feed(self, data: bytes) -> None:
        while data:
            self._out += self._obj.decompress(data)
            self._in_frame = True
            if not self._obj.eof:
                return
            data = self._obj.unused_data   # the next frame starts here
            self._obj = self._zd.decompressobj()
            self._in_frame = False

    def readinto(self, b) -> int:
        while self._pos >= len(self._out) and not self._done:
            self._out, self._pos = bytearray(), 0
            chunk = self._raw.read(CHUNK)
            if not chunk:
                if self._in_frame:
                    raise EOFError(f"zstd file {self._url!r} ended before the end of its last frame "
                                   "(truncated or corrupt)")
                self._done = True
                break
            self._feed(chunk)
        n = min(len(b), len(self._out) - self._pos)
        b[:n] = self._out[self._pos:self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def open_zstd(raw, url: str):
    """A buffered binary reader of the decompressed text of the zstd file ``raw``."""
    return io.BufferedReader(ZstdStream(raw, url), buffer_size=CHUNK)
