"""Object-store sources in a versioned bucket are fingerprinted by ETag and VersionId (moto S3 on
127.0.0.1): the manifest records the VersionId and says ``fingerprint: "etag+version"``; a rerun is
up to date while the objects are the same versions, and an input overwritten in place (same bytes,
so the same ETag and size) is a changed source. An unversioned bucket keeps ETag-only fingerprints."""

import hashlib
import json
import os

import boto3
import pytest
import s3fs

from datagen.app.sample import write_sample
from datagen.contract.manifest import manifest_from_dict
from splitters.config import SplitConfig
from splitters.sources import discover
from splitters.split import run_split
from splitters.uptodate import config_or_source_change

OPTS = dict(time_column="event_time", group_by=["month"], row_group_size=1024, label="label", progress=False,
            workers=1)


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp("s3versions-src")
    write_sample(d, files=2, rows_per_file=1_000, seed=5, features=2, row_group_size=400)
    return d


def _upload(src, bucket, versioned: bool) -> str:
    if versioned:
        boto3.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    for f in sorted(os.listdir(src)):
        fs.put_file(str(src / f), f"{bucket}/in/{f}")
    return f"s3://{bucket}/in/"


def _manifest(bucket, prefix="ds"):
    return json.loads(s3fs.S3FileSystem(skip_instance_cache=True).cat_file(f"{bucket}/{prefix}/manifest.json"))


@pytest.mark.parametrize("versioned", [True, False])
def test_fingerprint_records_the_version_in_a_versioned_bucket(src, s3_bucket, versioned):
    inputs = _upload(src, s3_bucket, versioned)
    cfg = SplitConfig(inputs=[inputs], out=f"s3://{s3_bucket}/ds", **OPTS)
    assert run_split(cfg).status == "written"
    s3 = boto3.client("s3")
    for source in _manifest(s3_bucket)["sources"]:
        head = s3.head_object(Bucket=s3_bucket, Key=source["path"].split(f"{s3_bucket}/", 1)[1])
        etag = head["ETag"].strip('"')
        assert source["etag"] == etag
        if versioned:
            assert source["fingerprint"] == "etag+version" and source["version_id"] == head["VersionId"]
            text = f"etag:{etag}:version:{head['VersionId']}"
        else:
            assert source["fingerprint"] == "etag" and "version_id" not in source
            text = f"etag:{etag}"
        assert source["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert run_split(cfg).status == "up to date"


@pytest.mark.parametrize("out_kind", ["bucket", "local"])
def test_an_input_overwritten_in_a_versioned_bucket_is_a_changed_source(src, s3_bucket, tmp_path, out_kind):
    inputs = _upload(src, s3_bucket, versioned=True)
    out = f"s3://{s3_bucket}/ds" if out_kind == "bucket" else str(tmp_path / "ds")
    cfg = SplitConfig(inputs=[inputs], out=out, **OPTS)
    run_split(cfg)
    before = discover([inputs])
    assert all(s.version for s in before)
    first = sorted(os.listdir(src))[0]
    s3fs.S3FileSystem(skip_instance_cache=True).put_file(str(src / first), f"{s3_bucket}/in/{first}")  # same bytes
    after = discover([inputs])
    assert after[0].etag == before[0].etag and after[0].bytes == before[0].bytes  # only the version tells
    assert after[0].version != before[0].version and after[1] == before[1]
    with pytest.raises(Exception, match=rf"changed sources \('{after[0].url}'.*pass --overwrite"):
        run_split(cfg)
    # within the same second (S3 times have 1 s resolution) only the VersionId differs, and says so:
    old = _manifest(s3_bucket) if out_kind == "bucket" else json.loads((tmp_path / "ds" / "manifest.json").read_text())
    recorded = manifest_from_dict(old)
    same_second = [s.stamp._replace(mtime=r.mtime) for s, r in zip(after, recorded.sources)]
    assert "has another version (VersionId)" in config_or_source_change(recorded, cfg.semantic(), same_second)
    assert config_or_source_change(recorded, cfg.semantic(), [s.stamp for s in before]) is None
    assert run_split(SplitConfig(inputs=[inputs], out=out, overwrite=True, **OPTS)).status == "written"
    assert run_split(cfg).status == "up to date"


@pytest.mark.parametrize("history", ["enabled-then-suspended", "suspended-only"])
def test_suspended_versioning_gives_the_same_stamp_for_a_glob_and_a_literal(src, s3_bucket, history):
    """A bucket whose versioning is suspended: objects written while it was enabled keep real VersionIds,
    objects written after have VersionId "null"; the stamp must not depend on how the input is spelled."""
    s3 = boto3.client("s3")
    files = sorted(os.listdir(src))
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    if history == "enabled-then-suspended":
        s3.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
        fs.put_file(str(src / files[0]), f"{s3_bucket}/in/{files[0]}")
    s3.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Suspended"})
    for f in files[1 if history == "enabled-then-suspended" else 0:]:
        fs.put_file(str(src / f), f"{s3_bucket}/in/{f}")
    glob = [f"s3://{s3_bucket}/in/*.parquet"]
    literal = [f"s3://{s3_bucket}/in/{f}" for f in files]
    assert [s.stamp for s in discover(glob)] == [s.stamp for s in discover(literal)]
    if history == "enabled-then-suspended":
        assert discover(literal)[0].version and discover(glob)[0].version
    for first, second in ((glob, literal), (literal, glob)):
        out = f"s3://{s3_bucket}/ds-{first is glob}"
        assert run_split(SplitConfig(inputs=first, out=out, **OPTS)).status == "written"
        assert run_split(SplitConfig(inputs=first, out=out, **OPTS)).status == "up to date"
        assert run_split(SplitConfig(inputs=second, out=out, **OPTS)).status == "up to date"
