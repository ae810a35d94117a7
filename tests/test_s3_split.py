"""Splitting into a bucket (moto S3 on 127.0.0.1): local->S3 and S3->S3 give the shards of a local
split byte for byte; manifest.json is the single commit; a SIGKILL before it leaves no manifest and
a rerun finishes; a multi-process cluster whose workers share no disk uploads the same shards;
show/verify/provenance accept the URL; errors are one line naming the URL."""

import copy
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import s3fs

from cli_checks import fails
from datagen.app.sample import write_sample
from datagen.contract.manifest import read_manifest
from splitters.config import SplitConfig
from splitters.split import run_split
from manifest_edit import load  # shards as entries, written back as the format's table

ROOT = Path(__file__).resolve().parents[1]
OPTS = dict(time_column="event_time", group_by=["month"], row_group_size=1024, label="label")


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp("s3split-src")
    write_sample(d, files=2, rows_per_file=2_500, seed=7, features=3, row_group_size=600)
    return d


@pytest.fixture(scope="module")
def local_split(src, tmp_path_factory):
    out = tmp_path_factory.mktemp("s3split-local") / "ds"
    run_split(SplitConfig(inputs=[str(src)], out=str(out), progress=False, workers=1, **OPTS))
    return read_manifest(out)


def _fs():
    return s3fs.S3FileSystem(skip_instance_cache=True)


def _remote_manifest(bucket, prefix="ds"):
    return load(_fs().cat_file(f"{bucket}/{prefix}/manifest.json"))


def _shards(m):
    return [(s["path"], s["sha256"], s["bytes"]) if isinstance(s, dict) else (s.path, s.sha256, s.bytes)
            for s in (m["shards"] if isinstance(m, dict) else m.shards)]


def test_local_to_s3_matches_local_split_and_reruns_up_to_date(src, local_split, s3_bucket, run_split, run_datagen):
    url = f"s3://{s3_bucket}/ds"
    r = run_split(src, "--out", url, "--time-column", "event_time", "--group-by", "month", "--row-group-size",
                  1024, "--label", "label")
    assert r.exit_code == 0, r.output
    m = _remote_manifest(s3_bucket)
    assert _shards(m) == _shards(local_split)
    for path, sha, size in _shards(m):  # the objects are the shards, byte for byte
        import hashlib
        assert hashlib.sha256(_fs().cat_file(f"{s3_bucket}/ds/{path}")).hexdigest() == sha
    keys = {k.split("/ds/", 1)[1] for k in _fs().find(f"{s3_bucket}/ds")}
    assert keys == {"manifest.json", m["footer_pack"]["path"]} | {p for p, _, _ in _shards(m)}  # no lock/staging left
    again = run_split(src, "--out", url, "--time-column", "event_time", "--group-by", "month", "--row-group-size",
                      1024, "--label", "label")
    assert again.exit_code == 0 and "up to date" in again.output
    shown = run_datagen("show", url)
    assert shown.exit_code == 0 and f"{m['totals']['rows_written']:,}" in shown.output
    ok = run_datagen("verify", url)
    assert ok.exit_code == 0 and f"OK: {len(m['shards'])} shards" in ok.output
    prov = run_datagen("provenance", url, "--batch", 0, "--features", "f0,f1", "--batch-size", 50,
                       "--format", "json", "--cache-dir", Path(src).parent / "prov-cache")
    assert prov.exit_code == 0 and len(json.loads(prov.output)) == 50


def test_s3_to_s3_uses_etags(src, local_split, s3_bucket):
    fs = _fs()
    for f in sorted(os.listdir(src)):
        fs.put_file(str(src / f), f"{s3_bucket}/in/{f}")
    summary = run_split(SplitConfig(inputs=[f"s3://{s3_bucket}/in/"], out=f"s3://{s3_bucket}/ds", progress=False,
                                    workers=2, **OPTS))
    assert summary.status == "written"
    m = _remote_manifest(s3_bucket)
    assert _shards(m) == _shards(local_split)  # lineage ids follow the sorted sources: same bytes
    assert all(s["fingerprint"] == "etag" and s["etag"] for s in m["sources"])
    assert "fingerprint" not in json.dumps(local_split.to_dict()["sources"])  # local sources: sha256, unchanged


def test_overwrite_commits_then_removes_old_shards(src, s3_bucket):
    url = f"s3://{s3_bucket}/ds"
    run_split(SplitConfig(inputs=[str(src)], out=url, progress=False, workers=1, **OPTS))
    first = {p for p, _, _ in _shards(_remote_manifest(s3_bucket))}
    with pytest.raises(Exception, match="pass --overwrite"):
        run_split(SplitConfig(inputs=[str(src)], out=url, progress=False, workers=1, **{**OPTS, "group_by": ["day"]}))
    assert {p for p, _, _ in _shards(_remote_manifest(s3_bucket))} == first  # the refused run touched nothing
    run_split(SplitConfig(inputs=[str(src)], out=url, progress=False, workers=1, overwrite=True,
                          **{**OPTS, "group_by": ["day"]}))
    second = {p for p, _, _ in _shards(_remote_manifest(s3_bucket))}
    keys = {k.split("/ds/", 1)[1] for k in _fs().find(f"{s3_bucket}/ds")}
    pack = _remote_manifest(s3_bucket)["footer_pack"]["path"]
    assert keys == {"manifest.json", pack} | second and not first & keys  # the old pack went with the old shards


def _fault_split(env_extra, src, url, cwd):
    env = {**os.environ, **env_extra, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    args = [sys.executable, str(ROOT / "tests" / "fault_s3_split.py"), str(src), "--out", url, "--time-column",
            "event_time", "--group-by", "month", "--row-group-size", "1024", "--label", "label", "--no-progress",
            "--workers", "1"]
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("kill", [{"FAULT_KILL_AT_UPLOAD": "4"}, {"FAULT_KILL_AT_COMMIT": "1"}])
def test_sigkill_during_s3_split_then_rerun(src, local_split, s3_bucket, tmp_path, kill):
    url = f"s3://{s3_bucket}/ds"
    killed = _fault_split(kill, src, url, tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not _fs().exists(f"{s3_bucket}/ds/manifest.json")  # no commit, no manifest
    rerun = _fault_split({}, src, url, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    m = _remote_manifest(s3_bucket)
    assert _shards(m) == _shards(local_split)
    keys = {k.split("/ds/", 1)[1] for k in _fs().find(f"{s3_bucket}/ds")}
    assert keys == {"manifest.json", m["footer_pack"]["path"]} | {p for p, _, _ in _shards(m)}


def test_cluster_without_shared_disk(src, local_split, s3_bucket, tmp_path):
    """Two worker processes, each with its own local directory and TMPDIR: they stage in the bucket and
    upload their own shards; the result is byte-identical to a local single-process split."""
    from distributed import Client, LocalCluster

    dirs = [tmp_path / "w0", tmp_path / "w1"]
    with LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                      threads_per_worker=1) as cluster:
        for i, d in enumerate(dirs):
            d.mkdir()
            spec = copy.deepcopy(next(iter(cluster.new_worker_spec().values())))
            spec["options"] = {**spec["options"], "local_directory": str(d), "env": {"TMPDIR": str(d)}}
            cluster.worker_spec[f"w{i}"] = spec
        cluster.sync(cluster._correct_state)
        with Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            import tempfile
            temps = sorted(client.run(tempfile.gettempdir).values())
            assert temps == sorted(str(d) for d in dirs)  # no worker shares the other's temp dir
        summary = run_split(SplitConfig(inputs=[str(src)], out=f"s3://{s3_bucket}/ds", progress=False,
                                        scheduler=cluster.scheduler_address, **OPTS))
    assert summary.status == "written"
    assert _shards(_remote_manifest(s3_bucket)) == _shards(local_split)
    keys = {k.split("/ds/", 1)[1] for k in _fs().find(f"{s3_bucket}/ds")}
    assert not any(k.startswith(".datagen") for k in keys)  # the bucket staging prefix is gone
    for d in dirs:  # the workers wrote no shard or staged file to their own disks
        assert not list(d.rglob("*.parquet")) and not list(d.rglob("*.arrow"))


def test_missing_bucket_and_credentials_are_one_line(src, s3_server, run_split, monkeypatch):
    r = run_split(src, "--out", "s3://no-such-bucket-here/ds", "--time-column", "event_time")
    fails(r, 1, "no-such-bucket-here", "bucket does not exist")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    s3fs.S3FileSystem.clear_instance_cache()
    r = run_split(src, "--out", "s3://some-bucket/ds", "--time-column", "event_time")
    fails(r, 1, "some-bucket", "no credentials")
    s3fs.S3FileSystem.clear_instance_cache()


def test_storage_option_flag_reaches_fsspec(src, s3_bucket, s3_server, run_split, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    s3fs.S3FileSystem.clear_instance_cache()
    r = run_split(src, "--out", f"s3://{s3_bucket}/ds", "--time-column", "event_time", "--group-by", "month",
                  "--storage-option", f"endpoint_url={s3_server}")
    assert r.exit_code == 0, r.output
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    assert _remote_manifest(s3_bucket)["totals"]["rows_written"] == 5_000
    import fsspec.config
    fsspec.config.conf.pop("s3", None)


def test_a_missing_shard_in_a_bucket_dataset_reads_as_one_sentence(src, s3_bucket, run_split):
    url = f"s3://{s3_bucket}/gone"
    args = ["--time-column", "event_time", "--group-by", "month", "--no-progress"]
    assert run_split(src, "--out", url, *args).exit_code == 0
    first = _shards(_remote_manifest(s3_bucket, "gone"))[0][0]
    _fs().rm(f"{s3_bucket}/gone/{first}")
    fails(run_split(src, "--out", url, *args), 1,
          f"already holds a dataset whose shard {first!r} is missing; pass --overwrite")


def test_staging_without_credentials_is_one_line(s3_bucket, monkeypatch):
    """A staged file written to a bucket by a process without credentials (a cluster worker started
    without them) fails in one line naming the staging location, not botocore's NoCredentialsError."""
    import numpy as np
    import pyarrow as pa

    from datagen.contract.errors import OutputError
    from splitters.stage_write import write_staged

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    s3fs.S3FileSystem.clear_instance_cache()
    path = f"s3://{s3_bucket}/staging/u000000-0000.arrow"
    try:
        with pytest.raises(OutputError, match="no credentials found") as err:
            write_staged(pa.table({"x": [1.0, 2.0]}), [(1,)], np.array([2]), path)
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    assert path in str(err.value) and str(err.value).startswith("staging ")
