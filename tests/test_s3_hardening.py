"""Object-store splits are checked like local ones: an "up to date" rerun verifies every shard's bytes;
bad --storage-option values are usage errors; append/log/vacuum/compact on a bucket say they are not
supported yet; a truncated shard is reported as a size mismatch; version= beyond the current one is
named as missing."""

import json

import pytest
import s3fs

from cli_checks import fails
from datagen.app.sample import write_sample
from manifest_edit import load  # shards as entries, written back as the format's table

ARGS = ("--time-column", "event_time", "--group-by", "month")


@pytest.fixture(scope="module")
def small_src(tmp_path_factory):
    d = tmp_path_factory.mktemp("s3hard-src")
    write_sample(d, files=1, rows_per_file=800, seed=5, features=2)
    return d


@pytest.fixture(autouse=True)
def _fsspec_defaults():
    """fsspec's process-wide defaults are restored after each test (--storage-option values no longer
    touch them: test_s3_storage_options.py)."""
    import copy

    import fsspec.config

    saved = copy.deepcopy(fsspec.config.conf)
    yield
    fsspec.config.conf.clear()
    fsspec.config.conf.update(saved)


def _fs():
    return s3fs.S3FileSystem(skip_instance_cache=True)


def _split(run_split, src, url, *extra):
    r = run_split(src, "--out", url, *ARGS, *extra)
    assert r.exit_code == 0, r.output
    return load(_fs().cat_file(url[5:] + "/manifest.json"))


def test_up_to_date_verifies_shard_bytes(small_src, s3_bucket, run_split):
    url = f"s3://{s3_bucket}/ds"
    m = _split(run_split, small_src, url)
    shard = m["shards"][0]["path"]
    key = f"{s3_bucket}/ds/{shard}"
    data = bytearray(_fs().cat_file(key))
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    _fs().pipe_file(key, bytes(data))
    r = run_split(small_src, "--out", url, *ARGS)
    fails(r, 1, "does not verify", shard, "--overwrite")


@pytest.mark.parametrize("option, needles", [
    ("foo=bar", ["foo", "takes no option"]),
    ("anon=maybe", ["anon", "true or false"]),
    ("use_ssl=1", ["use_ssl", "true or false"]),
    ("endpoint_url=5", ["endpoint_url", "is text"]),
    ("profile=[1]", ["profile", "is text"]),
])
def test_bad_storage_options_are_usage_errors(small_src, s3_bucket, run_split, run_datagen, option, needles):
    url = f"s3://{s3_bucket}/bad"
    r = run_split(small_src, "--out", url, *ARGS, "--storage-option", option)
    fails(r, 2, *needles)
    assert not _fs().find(f"{s3_bucket}/bad")  # nothing written, no lock left
    r = run_datagen("show", url, "--storage-option", option)
    fails(r, 2, *needles)


def test_good_storage_options_still_work(small_src, s3_bucket, run_split):
    m = _split(run_split, small_src, f"s3://{s3_bucket}/ok", "--storage-option", "anon=false",
               "--storage-option", "use_listings_cache=false")
    assert m["shards"]


def test_local_only_commands_refuse_object_store(small_src, s3_bucket, run_split, run_datagen):
    url = f"s3://{s3_bucket}/ds"
    before = _split(run_split, small_src, url)
    fails(run_split(small_src, "--out", url, "--append"), 2, "--append is not supported for object-store", url)
    fails(run_datagen("log", url), 2, "datagen log is not supported for object-store", url)
    fails(run_datagen("vacuum", url, "--keep", 1), 2, "datagen vacuum is not supported for object-store", url)
    fails(run_datagen("compact", url), 2, "datagen compact is not supported for object-store", url)
    from splitters.compact import run_compact
    from datagen.contract.errors import ConfigError

    with pytest.raises(ConfigError, match="not supported for object-store"):
        run_compact(url)
    assert load(_fs().cat_file(f"{s3_bucket}/ds/manifest.json")) == before


def test_version_messages_on_object_store(small_src, s3_bucket, run_split, run_datagen, tmp_path):
    from datagen import DataGenerator
    from datagen.contract.errors import ConfigError

    url = f"s3://{s3_bucket}/ds"
    _split(run_split, small_src, url)
    with pytest.raises(ConfigError, match=r"version 2 does not exist: .* holds version 1 \(reading other versions"):
        DataGenerator(url, ["f0"], cache_dir=tmp_path, version=2)
    from datagen.contract.remote import check_remote_version

    with pytest.raises(ConfigError, match=r"holds version 3, and reading an older version"):
        check_remote_version(url, 2, 3, "version=", "leave version=None")  # a bucket at version 3
    err = fails(run_datagen("show", url, "--version", 3), 2, "version 3 does not exist", "holds version 1")
    assert "older" not in err
    assert run_datagen("show", url, "--version", 1).exit_code == 0


@pytest.mark.parametrize("quick", [False, True])
@pytest.mark.parametrize("tail", [64 << 10, 1024])  # 1024: the footer's ranged GET starts past the cut
def test_verify_reports_a_truncated_shard_by_size(small_src, s3_bucket, run_split, run_datagen, quick, tail,
                                                  monkeypatch):
    import datagen.contract.remote as remote

    monkeypatch.setattr(remote, "FOOTER_TAIL", tail)
    monkeypatch.setattr(remote, "CHUNK", 1024)
    url = f"s3://{s3_bucket}/ds"
    m = _split(run_split, small_src, url)
    shard = max(m["shards"], key=lambda s: s["bytes"])
    key = f"{s3_bucket}/ds/{shard['path']}"
    _fs().pipe_file(key, _fs().cat_file(key)[:100])
    r = run_datagen("verify", url, *(["--quick"] if quick else []))
    assert r.exit_code == 1, r.output
    assert f"100 bytes, manifest says {shard['bytes']:,}" in r.output, r.output
    assert "not satisfiable" not in r.output


def _keys(bucket, prefix="ds"):
    return {k.split(f"/{prefix}/", 1)[1] for k in _fs().find(f"{bucket}/{prefix}")}


@pytest.mark.parametrize("failure", [OSError("injected network failure"), KeyboardInterrupt()])
def test_failed_split_releases_lock_and_deletes_its_unlisted_uploads(small_src, s3_bucket, run_split,
                                                                      monkeypatch, failure):
    import splitters.remote_out as remote_out

    url = f"s3://{s3_bucket}/ds"
    old = _split(run_split, small_src, url)
    real_commit = remote_out.RemoteOut.commit

    def failing_commit(self, *args, **kwargs):  # every new shard is uploaded by now
        assert _keys(s3_bucket) - {s["path"] for s in old["shards"]} - {"manifest.json", ".datagen.lock"}
        raise failure

    monkeypatch.setattr(remote_out.RemoteOut, "commit", failing_commit)
    day = ("--time-column", "event_time", "--group-by", "day")
    r = run_split(small_src, "--out", url, *day, "--overwrite")
    if isinstance(failure, KeyboardInterrupt):
        assert r.exit_code == 130, r.output  # Ctrl-C: clean-up ran, exit 128 + SIGINT
    else:
        fails(r, 1, "injected network failure")
    # the committed dataset is intact (its shards and footer pack); no lock; none of the failed run's objects
    assert _keys(s3_bucket) == {"manifest.json", old["footer_pack"]["path"]} | {s["path"] for s in old["shards"]}
    monkeypatch.setattr(remote_out.RemoteOut, "commit", real_commit)
    r = run_split(small_src, "--out", url, *day, "--overwrite")
    assert r.exit_code == 0, r.output
    new = load(_fs().cat_file(f"{s3_bucket}/ds/manifest.json"))
    assert _keys(s3_bucket) == {"manifest.json", new["footer_pack"]["path"]} | {s["path"] for s in new["shards"]}


def test_release_leaves_another_writers_lock(small_src, s3_bucket, run_split, monkeypatch):
    import splitters.remote_out as remote_out

    url = f"s3://{s3_bucket}/ds"
    other = json.dumps({"lock": "datagen split lock", "host": "elsewhere", "pid": 1, "token": "theirs"})

    def stolen_commit(self, *args, **kwargs):  # the lock was removed by hand and another writer took it
        _fs().pipe_file(f"{s3_bucket}/ds/.datagen.lock", other.encode())
        raise OSError("injected failure")

    monkeypatch.setattr(remote_out.RemoteOut, "commit", stolen_commit)
    fails(run_split(small_src, "--out", url, *ARGS), 1, "injected failure")
    assert _keys(s3_bucket) == {".datagen.lock"}  # their lock stays; our uploads are gone
    assert json.loads(_fs().cat_file(f"{s3_bucket}/ds/.datagen.lock"))["token"] == "theirs"


def test_write_only_credentials_leave_no_lock(small_src, s3_bucket, run_split):
    """anon=true on this server may PUT but not GET or DELETE: the split stops right after taking the
    lock (which it cannot read back), before any upload, and says the lock is left and how to remove it."""
    r = run_split(small_src, "--out", f"s3://{s3_bucket}/x12", *ARGS, "--storage-option", "anon=true")
    err = fails(r, 1, "access denied", ".datagen.lock", "could not be deleted")
    assert _keys(s3_bucket, "x12") == {".datagen.lock"}, err  # nothing uploaded; the lock is named


def test_session_options_pass_the_check():
    """profile= goes through s3fs to the botocore session: not refused as unknown."""
    from datagen.contract.storage_options import check_storage_options_for
    from datagen.contract.errors import ConfigError

    check_storage_options_for("s3://b/p", {"profile": "x", "anon": False, "client_kwargs": {"region_name": "r"}})
    with pytest.raises(ConfigError, match="takes no option 'region_name'"):
        check_storage_options_for("s3://b/p", {"region_name": "r"})
