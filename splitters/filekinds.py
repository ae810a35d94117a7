"""What a file named as plain CSV really is, from its first bytes.

A compressed file (gzip, zstd, xz, bzip2), a Parquet file or a zip archive named ``.csv`` would be
parsed as text and refused with raw binary in the message and advice to pass ``--encoding``; a
UTF-16 file (byte-order mark) was told to try latin-1. Each is refused naming what it is and the
way out."""

from __future__ import annotations

from datagen.contract.errors import SourceError

_COMPRESSED = ((b"\x1f\x8b", "gzip", ".csv.gz"), (b"\x28\xb5\x2f\xfd", "zstd", ".csv.zst"),
               (b"\xfd7zXZ\x00", "xz", ".csv.xz"))
_OTHER = ((b"PAR1", "a Parquet file but its name says CSV", "rename it to end in .parquet"),
          (b"PK\x03\x04", "a zip archive but its name says CSV", "unzip it and give the CSV inside"),
          (b"\xff\xfe", "UTF-16 text (little-endian byte-order mark)", "pass --encoding utf-16"),
          (b"\xfe\xff", "UTF-16 text (big-endian byte-order mark)", "pass --encoding utf-16"))


def check_uncompressed(url: str, fh) -> None:
    """Refuse a file named as plain CSV whose first bytes (read from ``fh``, which is then rewound) are
    a compressed format's magic number, Parquet's, a zip archive's or a UTF-16 byte-order mark."""
    head = fh.read(10)
    fh.seek(0)
    bz2 = head[:3] == b"BZh" and head[4:10] == b"1AY&SY"
    for magic, kind, suffix in _COMPRESSED + (((head[:3], "bzip2", ".csv.bz2"),) if bz2 else ()):
        if head.startswith(magic):
            raise SourceError(f"input {url!r} is {kind}-compressed but its name says plain CSV; rename it to end "
                              f"in {suffix} (or decompress it)")
    for magic, kind, way_out in _OTHER:
        if head.startswith(magic):
            raise SourceError(f"input {url!r} is {kind}; {way_out}")
