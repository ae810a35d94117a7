"""The footer pack: one object holding every shard's Parquet footer tail, so that opening a dataset in
object storage costs one GET (or a few ranged GETs) instead of one per shard.

Layout (little-endian): ``DGFPACK1`` (8 bytes), ``count`` (uint64), ``count`` shard sha256 digests
(32 bytes each, binding entry i to ``manifest.shards[i]``), ``count + 1`` offsets (uint64, into the
data that follows), then the tails in manifest shard order. A tail is a shard's bytes from the footer
start to the end of the file: footer + 4-byte length + ``PAR1``. The object's name is content-hashed
(``_footers/<sha16>.bin``), so no earlier version used it for other bytes; the manifest names it
with its size and sha256 (``footer_pack``), written before the manifest PUT that commits it.
"""

from __future__ import annotations

import hashlib
import struct

from .errors import ManifestError
from .format import FooterPack, Manifest

MAGIC = b"DGFPACK1"
PACK_DIR = "_footers"


def footer_tail(data) -> bytes:
    """The footer tail of a whole Parquet file's bytes (footer + length + ``PAR1``)."""
    view = memoryview(data)
    if len(view) < 12 or bytes(view[-4:]) != b"PAR1":
        raise ValueError("not a Parquet file (no footer magic)")
    length = int.from_bytes(view[-8:-4], "little")
    if length + 12 > len(view):
        raise ValueError(f"footer length {length:,} exceeds the file")
    return bytes(view[-(length + 8):])


def build(tails: list[bytes], digests: list[str]) -> tuple[bytes, FooterPack]:
    """The pack's bytes and the manifest entry naming it (tails and digests in manifest shard order)."""
    offsets, at = [0], 0
    for t in tails:
        at += len(t)
        offsets.append(at)
    raw = b"".join([MAGIC, struct.pack("<Q", len(tails)), *(bytes.fromhex(d) for d in digests),
                    struct.pack(f"<{len(offsets)}Q", *offsets), *tails])
    sha = hashlib.sha256(raw).hexdigest()
    return raw, FooterPack(f"{PACK_DIR}/{sha[:16]}.bin", len(raw), sha)


def parse(raw: bytes, manifest: Manifest, where: str) -> list[bytes]:
    """The tails of a pack already checked against its size and sha256, one per manifest shard; a
    pack that does not belong to ``manifest`` is a one-line ManifestError naming ``where``."""
    def bad(why: str):
        return ManifestError(f"footer pack {where!r} {why}; run 'datagen verify', or re-run the split with --overwrite "
                             "to rewrite it")

    n = len(manifest.shards)
    head = len(MAGIC) + 8 + 32 * n + 8 * (n + 1)
    if len(raw) < head or raw[:len(MAGIC)] != MAGIC:
        raise bad("is not a datagen footer pack")
    (count,) = struct.unpack_from("<Q", raw, len(MAGIC))
    if count != n:
        raise bad(f"holds {count:,} footers, the manifest lists {n:,} shards")
    base = len(MAGIC) + 8
    offsets = struct.unpack_from(f"<{n + 1}Q", raw, base + 32 * n)
    if offsets[0] != 0 or offsets[-1] != len(raw) - head or any(a > b for a, b in zip(offsets, offsets[1:])):
        raise bad("has an inconsistent offsets table")
    tails = []
    for i, shard in enumerate(manifest.shards):
        if raw[base + 32 * i: base + 32 * (i + 1)].hex() != shard.sha256:
            raise bad(f"entry {i} belongs to another shard than {shard.path!r}")
        tail = raw[head + offsets[i]: head + offsets[i + 1]]
        if len(tail) < 8 or tail[-4:] != b"PAR1" or int.from_bytes(tail[-8:-4], "little") + 8 != len(tail) \
                or len(tail) + 4 > shard.bytes:
            raise bad(f"holds no valid footer for shard {shard.path!r}")
        tails.append(tail)
    return tails
