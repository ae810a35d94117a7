"""A local disk cache of a remote dataset's shards (``cachedcheck.py`` checks shards through it).

Layout of ``cache_dir``: ``shards/<sha256>.parquet`` (whole shards, keyed by the sha256 the manifest
gives, never by URL: a rewritten object has another key and is never served stale),
``footers/<sha256>.pack`` (a dataset's footer pack, keyed by its sha256) or ``footers/<sha256>.footer``
(one shard's footer, for datasets without a pack; a few KB each, outside the size budget), ``tmp/``
(downloads in progress) and ``.lock``.

* A download goes to ``tmp/``, is checked (size and sha256, remote.py) and renamed into place
  (atomic); two generators, threads or processes may share one ``cache_dir``: every change to the
  directory happens under an exclusive ``flock`` of ``.lock``.
* The budget: before a download, room is made by deleting least-recently-used shard copies (mtime =
  last use) until the cached shards plus the downloads in progress (their space is reserved by
  sizing the temporary file first) fit ``cache_size``; if they cannot yet (other downloads hold the
  room), it waits for them. Eviction only ever deletes files inside ``cache_dir/shards``.
* A shard is handed out as an OPEN file, taken under the lock: evicting it afterwards cannot pull it
  from under a reader (POSIX keeps an unlinked open file readable).
* A cached copy's size is checked on every use; its sha256 was checked when it was downloaded.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
import time

from .cachetmp import read_regular, reclaim, reservation_name, reserved
from .errors import ConfigError
from .format import Manifest, ShardEntry
from .remote import RemoteDataset
from .shardcheck import ShardProblem, one_line

WAIT = 0.02  # seconds between attempts while other downloads hold the room
WAIT_LIMIT = 600.0  # seconds without any change in tmp/ after which a wait for room is an error
FOOTER_THREADS = 64  # footers fetched in parallel when a dataset is opened (small ranged GETs)


class _Locked:
    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # releases the flock


class ShardCache:
    def __init__(self, remote: RemoteDataset, cache_dir: str, cache_size: int):
        self.remote = remote
        self.cache_dir = os.path.abspath(cache_dir)
        self.cache_size = int(cache_size)
        try:
            for sub in ("shards", "footers", "tmp"):
                os.makedirs(os.path.join(self.cache_dir, sub), exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cache_dir {cache_dir!r}: cannot create it ({exc.strerror or exc})") from None
        self.lock_path = os.path.join(self.cache_dir, ".lock")
        self._tails: dict[str, bytes] = {}  # shard sha256 -> footer tail, from the footer pack

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tails": {}}  # a worker process never needs the pack (footers come with the shards)

    def shard_path(self, shard: ShardEntry) -> str:
        return os.path.join(self.cache_dir, "shards", f"{shard.sha256}.parquet")

    def used_bytes(self) -> int:
        """Bytes of cached shards plus reserved downloads (what the budget counts)."""
        total = reserved(os.path.join(self.cache_dir, "tmp"))[0]
        d = os.path.join(self.cache_dir, "shards")
        for name in os.listdir(d):
            try:
                total += os.stat(os.path.join(d, name)).st_size
            except FileNotFoundError:
                continue
        return total

    def _open_cached(self, shard: ShardEntry, path: str):
        """Under the lock: the cached copy, opened as a native Arrow file (reads do not go through a
        Python file object, as a local shard's do not), after its size check; None when absent."""
        import pyarrow as pa

        try:   # never follows a link, never waits on a FIFO
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            os.unlink(path)  # a symlink put in place of a copy: the link goes, never what it names
            return None
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise ConfigError(f"cache_dir {self.cache_dir!r}: {path!r} is a directory where a cached shard "
                                  "belongs; remove it (or use another cache_dir)")
            if not stat.S_ISREG(st.st_mode) or st.st_size != shard.bytes:
                os.unlink(path)  # a damaged copy is only a copy: fetch it again
                return None
            os.utime(path)  # last use, for LRU
            return pa.OSFile(path, "rb")  # under the lock: the file just checked (only this class changes it)
        finally:
            os.close(fd)

    def _make_room(self, need: int) -> bool:
        """Under the lock: evict LRU copies until ``need`` more bytes fit; False if downloads in
        progress hold too much room for now."""
        shards_dir = os.path.join(self.cache_dir, "shards")
        entries = []
        for name in os.listdir(shards_dir):
            try:
                st = os.stat(os.path.join(shards_dir, name))
            except FileNotFoundError:
                continue
            entries.append((st.st_mtime_ns, name, st.st_size))
        used = self.used_bytes()
        for _, name, size in sorted(entries):
            if used + need <= self.cache_size:
                break
            try:
                os.unlink(os.path.join(shards_dir, name))
                used -= size
            except FileNotFoundError:
                continue
        return used + need <= self.cache_size

    def open(self, shard: ShardEntry):
        """The shard as an open local binary file (downloaded, checked and cached first if needed)."""
        if shard.bytes > self.cache_size:
            raise ConfigError(f"cache_size {self.cache_size:,} bytes is smaller than shard {shard.path!r} "
                              f"({shard.bytes:,} bytes); raise cache_size")
        path = self.shard_path(shard)
        tmp_dir = os.path.join(self.cache_dir, "tmp")
        seen, since = None, time.monotonic()
        while True:
            with _Locked(self.lock_path):
                fh = self._open_cached(shard, path)
                if fh is not None:
                    return fh
                reclaim(tmp_dir)  # reservations of dead processes, stray files
                if self._make_room(shard.bytes):
                    tmp = os.path.join(tmp_dir, reservation_name(shard.sha256))
                    with open(tmp, "wb") as reserve:
                        reserve.truncate(shard.bytes)  # the room is reserved until the rename
                    break
                held, snap = reserved(tmp_dir)
            if snap != seen:
                seen, since = snap, time.monotonic()  # other downloads progress: keep waiting
            elif time.monotonic() - since > WAIT_LIMIT:
                raise ConfigError(f"cache_dir {self.cache_dir!r}: cache_size {self.cache_size:,} bytes has no room "
                                  f"for shard {shard.path!r} ({shard.bytes:,} bytes): downloads of live processes "
                                  f"hold {held:,} bytes in {tmp_dir!r} and made no progress for {WAIT_LIMIT:g} s; "
                                  "raise cache_size or use another cache_dir")
            time.sleep(WAIT)
        try:
            self.remote.download(shard, tmp)
        except BaseException:
            with _Locked(self.lock_path):
                if os.path.exists(tmp):
                    os.unlink(tmp)
            raise
        with _Locked(self.lock_path):
            os.replace(tmp, path)
            return self._open_cached(shard, path)

    def drop(self, shard: ShardEntry) -> bool:
        """Delete the cached copy of ``shard`` (reading it failed: the next ``open`` downloads it
        again); False when there was none."""
        with _Locked(self.lock_path):
            try:
                os.unlink(self.shard_path(shard))
            except FileNotFoundError:
                return False
        return True

    def fill_from_pack(self, manifest: Manifest, shards: list[ShardEntry] = ()) -> None:
        """When the manifest names a footer pack: load it, from ``footers/<sha256>.pack`` or with one
        GET (most datasets) that is then kept there, check its size and sha256 against the manifest
        (each time: hashing ~1 KB per shard is cheaper than one file per shard) and serve every
        footer of the dataset from memory."""
        pack = manifest.footer_pack
        if pack is None:
            return
        from .footerpack import parse
        from .storage import join

        path = os.path.join(self.cache_dir, "footers", f"{pack.sha256}.pack")
        raw = read_regular(path) or b""
        if len(raw) != pack.bytes or hashlib.sha256(raw).hexdigest() != pack.sha256:  # absent or damaged copy
            raw = self.remote.footer_pack_bytes(manifest)  # checked
            self._write_footer(path, raw)
        tails = parse(raw, manifest, join(self.remote.url, pack.path))
        self._tails = {s.sha256: t for s, t in zip(manifest.shards, tails)}

    def prefetch_footers(self, shards: list[ShardEntry]) -> None:
        """Fetch the footers not known yet, FOOTER_THREADS ranged GETs at a time (opening a dataset
        without a footer pack: a warm cache costs no request here, a cold one one small GET per shard)."""
        todo = [s for s in shards if s.sha256 not in self._tails and not os.path.exists(self._footer_path(s))]
        if not todo:
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(FOOTER_THREADS, len(todo)), thread_name_prefix="datagen-footer") as pool:
            list(pool.map(self._fetch_footer, todo))

    def _footer_path(self, shard: ShardEntry) -> str:
        return os.path.join(self.cache_dir, "footers", f"{shard.sha256}.footer")

    def _fetch_footer(self, shard: ShardEntry) -> bytes:
        raw = self.remote.footer_bytes(shard)
        self._write_footer(self._footer_path(shard), raw)
        return raw

    @staticmethod
    def _write_footer(path: str, raw: bytes) -> None:
        tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}"
        with open(tmp, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)

    def footer(self, shard: ShardEntry):
        """The shard's checked-for-nothing-yet footer (``FileMetaData``): from the cached copy, the
        footer cache, or one ranged GET (then kept in ``footers/``)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tail = self._tails.get(shard.sha256)
        if tail is not None:
            raw = b"PAR1" + tail
        else:
            raw = read_regular(self._footer_path(shard))
            if raw is None:
                raw = self._fetch_footer(shard)
        try:
            return pq.read_metadata(pa.BufferReader(raw))
        except Exception as exc:
            raise ShardProblem(shard, "unreadable", f"not a readable Parquet footer ({one_line(exc)})") from None
