"""Object-storage errors are one line naming the URL and the way out: a missing s3fs, an unreachable
endpoint, a lock held by another writer, a bad --storage-option."""

import json
import sys

import pytest
import s3fs

from cli_checks import fails
from datagen.app.sample import write_sample


@pytest.fixture(scope="module")
def small_src(tmp_path_factory):
    d = tmp_path_factory.mktemp("s3err-src")
    write_sample(d, files=1, rows_per_file=500, seed=3, features=2)
    return d


def test_without_s3fs_the_extra_is_named(small_src, run_split, run_datagen, monkeypatch, tmp_path):
    import importlib

    registry = importlib.import_module("fsspec.registry")
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if not installed: importing it raises ImportError
    for protocol in ("s3", "s3a"):  # forget the class fsspec already imported
        monkeypatch.delitem(registry._registry, protocol, raising=False)
    r = run_split(small_src, "--out", "s3://bucket/ds", "--time-column", "event_time")
    fails(r, 2, "s3://bucket/ds", "pip install 'datagen[s3]'")
    r = run_datagen("show", "s3://bucket/ds")
    fails(r, 2, "pip install 'datagen[s3]'")
    from datagen import DataGenerator
    from datagen.contract.errors import ConfigError

    with pytest.raises(ConfigError, match=r"pip install 'datagen\[s3\]'"):
        DataGenerator("s3://bucket/ds", ["f0"], cache_dir=tmp_path)


def test_unreachable_endpoint(small_src, s3_server, run_datagen):
    from s3_server import free_port

    s3fs.S3FileSystem.clear_instance_cache()
    dead = f"http://127.0.0.1:{free_port()}"
    r = run_datagen("show", "s3://bucket/ds", "--storage-option", f"endpoint_url={dead}",
                    "--storage-option", 'config_kwargs={"retries": {"max_attempts": 1}}')
    fails(r, 1, "s3://bucket/ds", "cannot reach the storage endpoint")
    s3fs.S3FileSystem.clear_instance_cache()


def test_lock_held_by_another_host(small_src, s3_bucket, run_split):
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.pipe_file(f"{s3_bucket}/ds/.datagen.lock", json.dumps({"lock": "datagen split lock", "host": "elsewhere",
                                                                "pid": 1}).encode())
    r = run_split(small_src, "--out", f"s3://{s3_bucket}/ds", "--time-column", "event_time")
    fails(r, 1, "another split is writing", "pid 1 on elsewhere", f"s3://{s3_bucket}/ds/.datagen.lock")
    assert not fs.exists(f"{s3_bucket}/ds/manifest.json")
    assert fs.exists(f"{s3_bucket}/ds/.datagen.lock")  # someone else's lock is left alone


def test_foreign_objects_refused(small_src, s3_bucket, run_split):
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.pipe_file(f"{s3_bucket}/ds/notes.txt", b"mine")
    r = run_split(small_src, "--out", f"s3://{s3_bucket}/ds", "--time-column", "event_time")
    fails(r, 1, "is not empty and holds no dataset", "notes.txt")
    assert fs.cat_file(f"{s3_bucket}/ds/notes.txt") == b"mine"


@pytest.mark.parametrize("bad", ["novalue", "=x"])
def test_bad_storage_option(small_src, run_split, bad):
    r = run_split(small_src, "--out", "s3://b/ds", "--time-column", "event_time", "--storage-option", bad)
    fails(r, 2, "--storage-option", "KEY=VALUE")


def test_staging_needs_remote_out(small_src, run_split, tmp_path):
    r = run_split(small_src, "--out", tmp_path / "o", "--time-column", "event_time", "--staging", tmp_path / "s")
    fails(r, 2, "staging")
