"""Training from a bucket: DataGenerator over s3:// (moto on 127.0.0.1) through a local shard cache.

Batches, len, provenance and epochs equal the same dataset on local disk; a cache smaller than the
dataset serves every row exactly once per epoch and never holds more than cache_size; a corrupted
object is a one-line ShardError naming the shard; opening reads the manifest and footers only."""

import logging
import os

import numpy as np
import pytest

from s3_server import upload_dataset
import s3fs
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen import DataGenerator
from datagen.app.sample import write_sample
from datagen.contract.errors import ConfigError, ManifestError, ShardError
from datagen.contract.manifest import read_manifest

FEATURES = ["f0", "f1", "f2"]


@pytest.fixture(scope="module")
def local_ds(tmp_path_factory):
    from splitters.config import SplitConfig
    from splitters.split import run_split

    src = tmp_path_factory.mktemp("s3gen-src")
    write_sample(src, files=2, rows_per_file=3_000, seed=4, features=3, row_group_size=700)
    out = tmp_path_factory.mktemp("s3gen-out") / "ds"
    run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="event_time", group_by=["month"],
                          label="label", row_group_size=1024, progress=False, workers=2))
    return out


def _epoch(gen, epoch):
    gen.set_epoch(epoch)
    batches = [gen[i] for i in range(len(gen))]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def test_batches_len_provenance_equal_local(local_ds, s3_bucket, tmp_path):
    url = upload_dataset(local_ds, s3_bucket)
    opts = dict(label="label", batch_size=256, shuffle=True, seed=5, memory_budget="1MiB")
    local = DataGenerator(local_ds, FEATURES, **opts)
    remote = DataGenerator(url, FEATURES, **opts, cache_dir=tmp_path / "cache", cache_size="100MB")
    assert len(local) == len(remote) and local.num_rows == remote.num_rows
    for epoch in (0, 1):
        lx, ly = _epoch(local, epoch)
        rx, ry = _epoch(remote, epoch)
        np.testing.assert_array_equal(lx, rx)
        np.testing.assert_array_equal(ly, ry)
        for b in (0, len(local) - 1):
            assert local.provenance(b, epoch).equals(remote.provenance(b, epoch))
    assert remote.config["directory"] == url
    again = DataGenerator.from_config(remote.config, cache_dir=tmp_path / "cache", cache_size="100MB")
    np.testing.assert_array_equal(_epoch(again, 1)[0], _epoch(local, 1)[0])


def test_cache_smaller_than_dataset(local_ds, s3_bucket, tmp_path):
    url = upload_dataset(local_ds, s3_bucket)
    m = read_manifest(local_ds)
    total = sum(s.bytes for s in m.shards)
    limit = max(s.bytes for s in m.shards) * 3
    assert limit < total
    cache = tmp_path / "cache"
    gen = DataGenerator(url, FEATURES, label="label", batch_size=200, shuffle=True, seed=1, memory_budget="1MiB",
                        cache_dir=cache, cache_size=limit)

    def on_disk():
        # under the cache's own lock: the background prefetch may evict a copy and reserve room for the next
        # download between two listings, and a snapshot mixing both moments would count a state that never was
        import fcntl

        fd = os.open(cache / ".lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return sum(p.stat().st_size for sub in ("shards", "tmp") for p in (cache / sub).iterdir())
        finally:
            os.close(fd)

    for epoch in (0, 1):
        seen = []
        for b in range(len(gen)):
            p = gen.provenance(b, epoch)
            seen.extend(zip(p["source_id"], p["source_row"]))
            gen.set_epoch(epoch)
            gen[b]
            assert on_disk() <= limit, sorted((p.name, p.stat().st_size) for sub in ("shards", "tmp") for p in (cache / sub).iterdir())
        assert len(seen) == len(set(seen)) == m.totals.rows_written


def test_cache_too_small_fails_at_construction(local_ds, s3_bucket, tmp_path):
    url = upload_dataset(local_ds, s3_bucket)
    with pytest.raises(ConfigError, match="cache_size .* smaller than the largest shard"):
        DataGenerator(url, FEATURES, label="label", cache_dir=tmp_path / "c", cache_size=1000)


def test_corrupted_object_detected_on_download(local_ds, s3_bucket, tmp_path):
    url = upload_dataset(local_ds, s3_bucket)
    m = read_manifest(local_ds)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    key = f"{s3_bucket}/ds/{m.shards[0].path}"
    data = bytearray(fs.cat_file(key))
    data[len(data) // 3] ^= 0xFF  # same size, footer intact: only the sha256 can tell
    fs.pipe_file(key, bytes(data))
    gen = DataGenerator(url, FEATURES, label="label", batch_size=10_000, cache_dir=tmp_path / "c")
    with pytest.raises(ShardError) as err:
        gen[0]
    assert m.shards[0].path in str(err.value) and "sha256" in str(err.value) and "\n" not in str(err.value)


def test_missing_bucket_and_credentials(s3_server, tmp_path, monkeypatch):
    with pytest.raises(ManifestError, match="bucket does not exist"):
        DataGenerator("s3://no-such-bucket-x/ds", FEATURES, cache_dir=tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    s3fs.S3FileSystem.clear_instance_cache()
    with pytest.raises(ManifestError, match="no credentials found") as err:
        DataGenerator("s3://whatever-bucket/ds", FEATURES, cache_dir=tmp_path)
    assert "\n" not in str(err.value)
    s3fs.S3FileSystem.clear_instance_cache()


class _Requests(logging.Handler):
    """Counts the HTTP requests the moto server logs for one bucket."""

    def __init__(self, bucket):
        super().__init__(logging.INFO)
        self.bucket, self.lines = bucket, []

    def emit(self, record):
        text = record.getMessage()
        if f" /{self.bucket}" in text:
            self.lines.append(text.split('"')[1] if '"' in text else text)


def _count_requests(bucket, fn):
    log = logging.getLogger("werkzeug")
    handler, level = _Requests(bucket), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        fn()
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    return handler.lines


def test_opening_costs_no_listing_and_no_per_shard_head(local_ds, s3_bucket, tmp_path):
    url = upload_dataset(local_ds, s3_bucket)
    shards = len(read_manifest(local_ds).shards)
    make = lambda: DataGenerator(url, FEATURES, label="label", batch_size=100, cache_dir=tmp_path / "c")  # noqa
    cold = _count_requests(s3_bucket, make)
    assert not [r for r in cold if r.startswith(("HEAD", "PUT")) or "list-type" in r or "?prefix" in r], cold
    assert sum("manifest.json" in r for r in cold) == 1
    assert len(cold) == 1 + shards  # the manifest, then one ranged GET per footer (in parallel)
    assert not list((tmp_path / "c" / "shards").iterdir())  # no shard downloaded to open
    warm = _count_requests(s3_bucket, make)
    assert len(warm) == 1 and "manifest.json" in warm[0]  # footers come from the cache


def test_verify_detects_corrupted_object(local_ds, s3_bucket, run_datagen):
    url = upload_dataset(local_ds, s3_bucket)
    m = read_manifest(local_ds)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    key = f"{s3_bucket}/ds/{m.shards[1].path}"
    data = bytearray(fs.cat_file(key))
    data[len(data) // 2] ^= 0x01
    fs.pipe_file(key, bytes(data))
    r = run_datagen("verify", url)
    assert r.exit_code == 1
    assert m.shards[1].path in r.stderr and "sha256" in r.stderr
    assert f"FAILED: 1 of {len(m.shards)} shards" in r.stderr
    quick = run_datagen("verify", "--quick", url)  # same size, footer intact: only the hash tells
    assert quick.exit_code == 0


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=8), data=st.data())
def test_cache_property_bytes_exact_and_never_over_budget(sizes, data):
    """Against a plain dict: any access sequence returns each shard's exact bytes, and the cached
    shards never exceed cache_size (memory:// as the remote store)."""
    import hashlib
    import tempfile

    import fsspec

    from datagen.contract.format import ShardEntry
    from datagen.contract.remote import RemoteDataset
    from datagen.contract.shardcache import ShardCache

    fs = fsspec.filesystem("memory")
    prefix = f"/cacheprop-{os.urandom(4).hex()}"
    shards, content = [], {}
    for i, size in enumerate(sizes):
        blob = os.urandom(size)
        fs.pipe_file(f"{prefix}/s{i}.parquet", blob)
        sha = hashlib.sha256(blob).hexdigest()
        shards.append(ShardEntry(path=f"s{i}.parquet", group={}, part=0, rows=1, bytes=size, sha256=sha,
                                 row_groups=[1], time_min=None, time_max=None))
        content[sha] = blob
    budget = data.draw(st.integers(max(sizes), sum(sizes) + 5))
    order = data.draw(st.lists(st.integers(0, len(sizes) - 1), min_size=1, max_size=25))
    with tempfile.TemporaryDirectory() as tmp:
        cache = ShardCache(RemoteDataset(f"memory://{prefix}"), tmp, budget)
        for i in order:
            with cache.open(shards[i]) as fh:
                assert fh.read() == content[shards[i].sha256]
            assert cache.used_bytes() <= budget
    fs.rm(prefix, recursive=True)


def test_arrow_dataset_from_s3_equals_local(local_ds, s3_bucket):
    from datagen.dataset import arrow_dataset

    url = upload_dataset(local_ds, s3_bucket)
    local = arrow_dataset(local_ds).to_table().sort_by([("_source_id", "ascending"), ("_source_row", "ascending")])
    remote = arrow_dataset(url, storage_options={}).to_table().sort_by([("_source_id", "ascending"),
                                                                         ("_source_row", "ascending")])
    assert remote.equals(local)
