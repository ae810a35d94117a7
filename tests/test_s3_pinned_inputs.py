"""An object-store input overwritten between the listing and the read is never split as the new object
under the old object's record (moto S3 on 127.0.0.1): a versioned input is read by the VersionId
listed; any other is read with If-Match on the listed ETag and refused in one line when it changed."""

import json

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import s3fs

import splitters.sources as sources_mod
from datagen.app.sample import write_sample
from datagen.contract.errors import SourceError
from splitters.config import SplitConfig
from splitters.split import run_split

OPTS = dict(time_column="event_time", group_by=["month"], label="label", progress=False, workers=1)


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    d = tmp_path_factory.mktemp("pinned")
    write_sample(d / "a", files=1, rows_per_file=400, seed=1, features=2)
    write_sample(d / "b", files=1, rows_per_file=500, seed=2, features=2)
    a, b = next((d / "a").glob("*.parquet")), next((d / "b").glob("*.parquet"))
    pcsv.write_csv(pq.read_table(a), d / "a.csv")
    pcsv.write_csv(pq.read_table(b), d / "b.csv")
    return {"parquet": (a, b), "csv": (d / "a.csv", d / "b.csv")}


def _overwrite_after_listing(monkeypatch, fs, key, new):
    listed = sources_mod.discover

    def discover(inputs, *a, **k):
        found = listed(inputs, *a, **k)
        fs.put_file(str(new), key)  # the object changes right after it was listed
        return found
    monkeypatch.setattr(sources_mod, "discover", discover)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_an_input_replaced_after_listing_is_refused(two_versions, s3_bucket, monkeypatch, fmt):
    old, new = two_versions[fmt]
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    key = f"{s3_bucket}/in/e.{fmt}"
    fs.put_file(str(old), key)
    _overwrite_after_listing(monkeypatch, fs, key, new)
    with pytest.raises(SourceError, match="changed while it was being split") as err:
        run_split(SplitConfig(inputs=[f"s3://{key}"], out=f"s3://{s3_bucket}/ds", **OPTS))
    assert "\n" not in str(err.value)
    assert not fs.exists(f"{s3_bucket}/ds/manifest.json")


def test_a_versioned_input_is_read_as_the_version_listed(two_versions, s3_bucket, s3_server, monkeypatch):
    import boto3

    boto3.client("s3", endpoint_url=s3_server).put_bucket_versioning(
        Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    old, new = two_versions["parquet"]
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    key = f"{s3_bucket}/in/e.parquet"
    fs.put_file(str(old), key)
    _overwrite_after_listing(monkeypatch, fs, key, new)
    summary = run_split(SplitConfig(inputs=[f"s3://{key}"], out=f"s3://{s3_bucket}/ds", **OPTS))
    manifest = json.loads(fs.cat_file(f"{s3_bucket}/ds/manifest.json"))
    listed = manifest["sources"][0]
    assert summary.rows == 400 and listed["bytes"] == old.stat().st_size  # the old object's rows, as recorded
    versions = boto3.client("s3", endpoint_url=s3_server).list_object_versions(Bucket=s3_bucket, Prefix="in/")
    assert listed["version_id"] == next(v["VersionId"] for v in versions["Versions"] if v["Size"] == listed["bytes"])
