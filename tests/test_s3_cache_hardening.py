"""A shard cache survives what other processes and hands leave in it: reservations of killed
processes are reclaimed (no endless wait), a wait that cannot succeed ends with a one-line error, a
damaged cached copy is fetched again once, odd entries where a footer pack belongs are replaced."""

import hashlib
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from s3_server import upload_dataset
import s3fs

from datagen import DataGenerator
from datagen.app.sample import write_sample
from datagen.contract import shardcache
from datagen.contract.errors import ConfigError
from datagen.contract.manifest import read_manifest
from manifest_edit import dump, load  # shards as entries, written back as the format's table

FEATURES = ["f0", "f1"]


@pytest.fixture(scope="module")
def src_dir(tmp_path_factory):
    src = tmp_path_factory.mktemp("cachehard-src")
    write_sample(src, files=1, rows_per_file=2_000, seed=7, features=2)
    return src


@pytest.fixture(scope="module")
def local_ds(tmp_path_factory, src_dir):
    from splitters.config import SplitConfig
    from splitters.split import run_split

    src = src_dir
    out = tmp_path_factory.mktemp("cachehard-out") / "ds"
    run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="event_time", group_by=["month"],
                          label="label", progress=False, workers=1))
    return out


def _all_batches(gen):
    return [gen[i] for i in range(len(gen))]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))


def _bounded(fn, limit=120):
    """Runs fn in a thread; a hang (the bug) fails the test instead of blocking the suite."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit)
    assert not t.is_alive(), "the generator hung waiting for cache room"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    child.send_signal(signal.SIGKILL)
    child.wait()
    return child.pid


OPTS = dict(label="label", batch_size=300, shuffle=True, seed=2)


def test_reservation_of_a_killed_process_is_reclaimed(local_ds, s3_bucket, tmp_path):
    url = upload_dataset(local_ds, s3_bucket)
    biggest = max(s.bytes for s in read_manifest(local_ds).shards)
    cache = tmp_path / "cache"
    for sub in ("tmp", "shards", "footers"):
        (cache / sub).mkdir(parents=True)
    sha = read_manifest(local_ds).shards[0].sha256
    with open(cache / "tmp" / f"{sha}.{_dead_pid()}.0badf00d", "wb") as fh:
        fh.truncate(biggest)
    (cache / "tmp" / "stray-file").write_bytes(b"x" * biggest)
    remote = _bounded(lambda: _all_batches(DataGenerator(url, FEATURES, **OPTS, cache_dir=cache,
                                                         cache_size=biggest + 10)))
    assert _same(remote, _all_batches(DataGenerator(local_ds, FEATURES, **OPTS)))
    assert os.listdir(cache / "tmp") == []


def test_room_held_by_a_live_process_ends_with_one_line(local_ds, s3_bucket, tmp_path, monkeypatch):
    url = upload_dataset(local_ds, s3_bucket)
    biggest = max(s.bytes for s in read_manifest(local_ds).shards)
    cache = tmp_path / "cache"
    for sub in ("tmp", "shards", "footers"):
        (cache / sub).mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        sha = read_manifest(local_ds).shards[0].sha256
        with open(cache / "tmp" / f"{sha}.{holder.pid}.0badf00d", "wb") as fh:
            fh.truncate(biggest)
        monkeypatch.setattr(shardcache, "WAIT_LIMIT", 0.5, raising=False)
        gen = DataGenerator(url, FEATURES, **OPTS, cache_dir=cache, cache_size=biggest + 10)
        with pytest.raises(ConfigError) as err:
            _bounded(lambda: _all_batches(gen))
    finally:
        holder.kill()
        holder.wait()
    msg = str(err.value)
    assert "\n" not in msg and str(cache) in msg and f"{biggest + 10:,}" in msg and "cache_size" in msg


def test_a_damaged_cached_copy_is_downloaded_again(local_ds, s3_bucket, tmp_path):
    url = upload_dataset(local_ds, s3_bucket)
    cache = tmp_path / "cache"
    gen_opts = dict(**OPTS, cache_dir=cache, cache_size="50MB")
    want = _all_batches(DataGenerator(local_ds, FEATURES, **OPTS))
    assert _same(_all_batches(DataGenerator(url, FEATURES, **gen_opts)), want)
    copies = sorted((cache / "shards").iterdir())
    assert copies
    for copy in copies:  # same size, one byte flipped in the middle of the data pages
        raw = bytearray(copy.read_bytes())
        raw[len(raw) // 3] ^= 0xFF
        copy.write_bytes(bytes(raw))
    assert _same(_all_batches(DataGenerator(url, FEATURES, **gen_opts)), want)
    assert any(hashlib.sha256(c.read_bytes()).hexdigest() == c.name.split(".")[0] for c in copies)  # re-fetched


def _put_odd(where, odd: str, elsewhere, text: bytes) -> None:
    """A FIFO, a symlink to ``elsewhere`` (holding ``text``) or a directory at ``where``."""
    if odd == "fifo":
        os.mkfifo(where)
    elif odd == "symlink":
        elsewhere.write_bytes(text)
        where.symlink_to(elsewhere)
    else:
        where.mkdir()


@pytest.mark.parametrize("odd", ["fifo", "symlink", "directory"])
def test_odd_entry_where_the_footer_pack_belongs(src_dir, local_ds, s3_bucket, tmp_path, odd):
    import json

    from datagen.contract.manifest import manifest_from_dict
    from splitters.config import SplitConfig
    from splitters.split import run_split

    url = f"s3://{s3_bucket}/packed"
    run_split(SplitConfig(inputs=[str(src_dir)], out=url, time_column="event_time",
                          group_by=["month"], label="label", progress=False, workers=1))
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    pack = manifest_from_dict(json.loads(fs.cat_file(f"{s3_bucket}/packed/manifest.json"))).footer_pack
    assert pack is not None
    cache = tmp_path / "cache"
    (cache / "footers").mkdir(parents=True)
    where = cache / "footers" / f"{pack.sha256}.pack"
    _put_odd(where, odd, tmp_path / "elsewhere", b"not a pack")
    make = lambda: _all_batches(DataGenerator(url, FEATURES, **OPTS, cache_dir=cache, cache_size="50MB"))  # noqa: E731
    if odd == "directory":
        with pytest.raises(ConfigError, match="is a directory") as err:
            _bounded(make)
        assert str(where) in str(err.value) and "\n" not in str(err.value)
    else:
        assert _same(_bounded(make), _all_batches(DataGenerator(local_ds, FEATURES, **OPTS)))
        assert where.is_file() and not where.is_symlink()
        assert (tmp_path / "elsewhere").exists() or odd == "fifo"


def test_a_shard_written_damaged_says_the_fresh_copy_failed_too(local_ds, s3_bucket, tmp_path):
    """The object in the bucket is damaged and the manifest's sha256 is of those damaged bytes: the
    cached copy fails, is dropped, the fresh download passes its sha256 check and fails to read too."""
    import shutil

    from datagen.contract.errors import ShardError

    ds = tmp_path / "ds"
    shutil.copytree(local_ds, ds)
    data = load((ds / "manifest.json"))
    shard = data["shards"][0]
    raw = bytearray((ds / shard["path"]).read_bytes())
    for tenth in range(1, 6):  # the data pages of every column (the footer, at the end, stays whole)
        raw[len(raw) * tenth // 10] ^= 0xFF
    (ds / shard["path"]).write_bytes(bytes(raw))
    shard["sha256"] = hashlib.sha256(raw).hexdigest()
    (ds / "manifest.json").write_text(dump(data))
    url = upload_dataset(ds, s3_bucket)
    try:
        gen = DataGenerator(url, FEATURES, **OPTS, cache_dir=tmp_path / "cache", cache_size="50MB")
    except Exception as exc:  # the manifest's own checks refuse the hand-edited sha256: nothing to test here
        pytest.skip(f"hand-edited manifest refused: {exc}")
    with pytest.raises(ShardError, match="fresh download") as err:
        _all_batches(gen)
    assert shard["path"] in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("odd", ["fifo", "symlink", "directory"])
def test_odd_entry_where_a_cached_shard_belongs(local_ds, s3_bucket, tmp_path, odd):
    """A FIFO or a symlink in place of a cached shard is dropped (the link, never what it names) and
    the shard fetched again; a directory is refused in one line, never removed. A FIFO used to hang
    the generator, the others gave raw OSErrors."""
    url = upload_dataset(local_ds, s3_bucket)
    cache = tmp_path / "cache"
    gen_opts = dict(**OPTS, cache_dir=cache, cache_size="50MB")
    want = _all_batches(DataGenerator(local_ds, FEATURES, **OPTS))
    assert _same(_all_batches(DataGenerator(url, FEATURES, **gen_opts)), want)
    where = sorted((cache / "shards").iterdir())[0]
    where.unlink()
    _put_odd(where, odd, tmp_path / "elsewhere", b"not a shard")
    make = lambda: _all_batches(DataGenerator(url, FEATURES, **gen_opts))  # noqa: E731
    if odd == "directory":
        with pytest.raises(ConfigError, match="is a directory where a cached shard belongs") as err:
            _bounded(make)
        assert str(where) in str(err.value) and "\n" not in str(err.value) and where.is_dir()
    else:
        assert _same(_bounded(make), want)
        assert where.is_file() and not where.is_symlink()
        assert odd == "fifo" or (tmp_path / "elsewhere").read_bytes() == b"not a shard"
