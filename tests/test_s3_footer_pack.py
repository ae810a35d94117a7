"""The footer pack (datagen/contract/footerpack.py): a split into a bucket writes one object holding
every shard's footer tail and names it in the manifest; a cold open of a 300-shard dataset then costs
a constant number of requests (manifest + pack) with batches equal to the same split on local disk; a
corrupted pack is one line naming it; verify checks the pack against the real footers; a dataset
without a pack still opens as before."""

import json

import numpy as np
import pytest
import s3fs
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen import DataGenerator
from datagen.app.sample import write_sample
from datagen.contract import footerpack
from datagen.contract.errors import ManifestError
from datagen.contract.manifest import manifest_from_dict, read_manifest
from splitters.config import SplitConfig
from splitters.split import run_split
from s3_server import upload_dataset
from test_s3_generator import _count_requests, _epoch
from manifest_edit import dump, load  # shards as entries, written back as the format's table

FEATURES = ["f0", "f1", "f2"]
OPTS = dict(time_column="event_time", group_by=["month"], label="label", max_rows_per_shard=20, row_group_size=1024,
            progress=False, workers=1)


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp("pack-src")
    write_sample(d, files=2, rows_per_file=3_000, seed=3, features=3, row_group_size=700)
    return d


@pytest.fixture(scope="module")
def local_ds(src, tmp_path_factory):
    out = tmp_path_factory.mktemp("pack-local") / "ds"
    run_split(SplitConfig(inputs=[str(src)], out=str(out), **OPTS))
    return out


@pytest.fixture
def bucket_ds(src, s3_bucket):
    url = f"s3://{s3_bucket}/ds"
    run_split(SplitConfig(inputs=[str(src)], out=url, **OPTS))
    return url, s3_bucket


def _fs():
    return s3fs.S3FileSystem(skip_instance_cache=True)


def test_cold_open_costs_manifest_and_pack_only(bucket_ds, local_ds, tmp_path):
    url, bucket = bucket_ds
    data = load(_fs().cat_file(f"{bucket}/ds/manifest.json"))
    assert len(data["shards"]) >= 300 and data["footer_pack"]["path"].startswith("_footers/")
    opts = dict(label="label", batch_size=128, shuffle=True, seed=2, memory_budget="1MiB")
    made = []
    cold = _count_requests(bucket, lambda: made.append(DataGenerator(url, FEATURES, **opts, cache_dir=tmp_path / "c")))
    assert len(cold) == 2, cold  # manifest + pack, whatever the shard count
    assert sum("manifest.json" in r for r in cold) == 1 and sum("_footers/" in r for r in cold) == 1
    warm = _count_requests(bucket, lambda: DataGenerator(url, FEATURES, **opts, cache_dir=tmp_path / "c"))
    assert len(warm) == 1 and "manifest.json" in warm[0]
    local = DataGenerator(local_ds, FEATURES, **opts)
    assert len(local) == len(made[0])
    for epoch in (0, 1):
        for a, b in zip(_epoch(local, epoch), _epoch(made[0], epoch)):
            np.testing.assert_array_equal(a, b)


def test_corrupted_pack_is_one_line_naming_it(bucket_ds, tmp_path, run_datagen):
    url, bucket = bucket_ds
    pack = json.loads(_fs().cat_file(f"{bucket}/ds/manifest.json"))["footer_pack"]["path"]
    raw = bytearray(_fs().cat_file(f"{bucket}/ds/{pack}"))
    raw[len(raw) // 2] ^= 0x01
    _fs().pipe_file(f"{bucket}/ds/{pack}", bytes(raw))
    with pytest.raises(ManifestError, match="footer pack .*changed") as err:
        DataGenerator(url, FEATURES, label="label", batch_size=64, cache_dir=tmp_path / "c")
    assert pack in str(err.value) and "\n" not in str(err.value)
    assert not list((tmp_path / "c" / "footers").iterdir())  # nothing cached from it
    assert "re-run the split with --overwrite" in str(err.value)
    r = run_datagen("verify", url)
    assert r.exit_code == 1 and pack in r.output
    assert "shards do not match" not in r.output and "FAILED: the footer pack" in r.output  # the shards are fine


def test_verify_names_the_shard_whose_pack_entry_differs(bucket_ds, run_datagen):
    """A pack whose checksum matches (rewritten with the manifest) but whose entry is another shard's footer."""
    url, bucket = bucket_ds
    fs = _fs()
    data = load(fs.cat_file(f"{bucket}/ds/manifest.json"))
    m = manifest_from_dict(data)
    tails = footerpack.parse(fs.cat_file(f"{bucket}/ds/{m.footer_pack.path}"), m, "pack")
    assert tails[3] != tails[4]
    tails[3] = tails[4]
    raw, entry = footerpack.build(tails, [s.sha256 for s in m.shards])
    fs.pipe_file(f"{bucket}/ds/{entry.path}", raw)
    data["footer_pack"] = {"path": entry.path, "bytes": entry.bytes, "sha256": entry.sha256}
    fs.pipe_file(f"{bucket}/ds/manifest.json", dump(data).encode())
    r = run_datagen("verify", url)
    assert r.exit_code == 1 and m.shards[3].path in r.output and "footer pack" in r.output


def test_verify_accepts_a_good_pack(bucket_ds, run_datagen):
    r = run_datagen("verify", bucket_ds[0])
    assert r.exit_code == 0, r.output


def test_dataset_without_pack_still_opens(local_ds, s3_bucket, tmp_path):
    assert read_manifest(local_ds).footer_pack is None  # local splits write none
    url = upload_dataset(local_ds, s3_bucket)
    shards = len(read_manifest(local_ds).shards)
    cold = _count_requests(s3_bucket, lambda: DataGenerator(url, FEATURES, label="label", batch_size=64,
                                                            cache_dir=tmp_path / "c"))
    assert len(cold) == 1 + shards  # the manifest, then one ranged GET per footer


def test_pack_path_must_stay_inside_the_dataset(local_ds):
    data = load((local_ds / "manifest.json"))
    for bad in ("../x.bin", "/abs/x.bin", "s3://b/x.bin", data["shards"][0]["path"]):
        data["footer_pack"] = {"path": bad, "bytes": 10, "sha256": "0" * 64}
        with pytest.raises(ManifestError, match="footer_pack") as err:
            manifest_from_dict(data)
        assert "\n" not in str(err.value)


@settings(deadline=None, max_examples=40)
@given(st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=8), st.data())
def test_build_parse_round_trip(bodies, draw):
    """Reference: the tails given are the tails read back, in order; any flipped byte is refused."""
    tails = [b + len(b).to_bytes(4, "little") + b"PAR1" for b in bodies]
    shards = [dict(path=f"g/part-{i}.parquet", sha256=f"{i:064x}", bytes=len(t) + 100) for i, t in enumerate(tails)]

    class M:
        pass

    m = M()
    m.shards = [type("S", (), s)() for s in shards]
    raw, entry = footerpack.build(tails, [s["sha256"] for s in shards])
    assert footerpack.parse(raw, m, "p") == tails and entry.bytes == len(raw)
    i = draw.draw(st.integers(0, len(raw) - 1))
    broken = bytearray(raw)
    broken[i] ^= 0xFF
    try:
        got = footerpack.parse(bytes(broken), m, "p")
    except ManifestError:
        return
    assert got != tails  # a flipped data byte inside a body changes a tail (sha256 guards the reader)


def test_local_append_to_a_copied_bucket_dataset_drops_the_pack(bucket_ds, tmp_path, run_split):
    url, bucket = bucket_ds
    local = tmp_path / "copy"
    _fs().get(f"{bucket}/ds/", str(local), recursive=True)
    assert read_manifest(local).footer_pack is not None
    more = tmp_path / "more"
    write_sample(more, files=1, rows_per_file=200, seed=9, features=3, row_group_size=100)
    r = run_split(more, "--out", local, "--append")
    assert r.exit_code == 0, r.output
    m = read_manifest(local)
    assert m.footer_pack is None and m.number == 2  # the pack named the old shard list only


def test_pack_is_cached_as_one_file_and_a_damaged_copy_is_fetched_again(bucket_ds, tmp_path, monkeypatch):
    """The pack is read in ranged GETs of CHUNK bytes (several here), kept as one file in the cache (not
    one file per shard), checked against the manifest on every open: a damaged cached copy costs one
    more GET, never wrong footers or an error."""
    import datagen.contract.remote as remote

    monkeypatch.setattr(remote, "CHUNK", 4096)
    url, bucket = bucket_ds
    pack = json.loads(_fs().cat_file(f"{bucket}/ds/manifest.json"))["footer_pack"]
    assert pack["bytes"] > 3 * 4096
    opts = dict(label="label", batch_size=128, shuffle=True, seed=2, cache_dir=tmp_path / "c")
    cold = _count_requests(bucket, lambda: DataGenerator(url, FEATURES, **opts))
    assert sum("_footers/" in r for r in cold) == -(-pack["bytes"] // 4096)  # one ranged GET per chunk
    cached = list((tmp_path / "c" / "footers").iterdir())
    assert [p.name for p in cached] == [f"{pack['sha256']}.pack"] and cached[0].stat().st_size == pack["bytes"]
    first = DataGenerator(url, FEATURES, **opts)
    raw = bytearray(cached[0].read_bytes())
    raw[len(raw) // 2] ^= 0x01  # same size, other bytes
    cached[0].write_bytes(bytes(raw))
    again = []
    refetch = _count_requests(bucket, lambda: again.append(DataGenerator(url, FEATURES, **opts)))
    assert sum("_footers/" in r for r in refetch) == -(-pack["bytes"] // 4096)
    assert len(again[0]) == len(first)
    for a, b in zip(_epoch(first, 0), _epoch(again[0], 0)):
        np.testing.assert_array_equal(a, b)
