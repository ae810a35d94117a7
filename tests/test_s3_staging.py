"""Where a split into a bucket stages (staging_area.py), against moto S3 on 127.0.0.1: the run stages in
a child of --staging only it names and deletes; a staging location equal to, above or inside --out, or
in a missing bucket, is refused before anything is written; a successful run leaves nothing of its own
in a given staging directory; a rerun after SIGKILL deletes the dead run's child (and only that); two
splits sharing one --staging both succeed; objects under <out>/.datagen-staging datagen did not write
are refused and left untouched."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import s3fs

from cli_checks import fails
from datagen.app.sample import write_sample
from datagen.contract.manifest import read_manifest
from splitters.config import SplitConfig
from splitters.split import run_split as api_split
from splitters.staging_area import run_name

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--time-column", "event_time", "--group-by", "month", "--label", "label", "--row-group-size", "1024"]
OPTS = dict(time_column="event_time", group_by=["month"], row_group_size=1024, label="label")


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp("stg-src")
    write_sample(d, files=2, rows_per_file=2_000, seed=11, features=3, row_group_size=500)
    return d


@pytest.fixture(scope="module")
def reference(src, tmp_path_factory):
    out = tmp_path_factory.mktemp("stg-ref") / "ds"
    api_split(SplitConfig(inputs=[str(src)], out=str(out), progress=False, workers=1, **OPTS))
    return sorted((s.path, s.sha256) for s in read_manifest(out).shards)


def _fs():
    return s3fs.S3FileSystem(skip_instance_cache=True)


def _keys(prefix):
    fs = _fs()
    return {k[len(prefix) + 1:]: fs.cat_file(k) for k in fs.find(prefix)}


def _remote_shards(prefix):
    from manifest_edit import load
    m = load(_fs().cat_file(f"{prefix}/manifest.json").decode())
    return sorted((s["path"], s["sha256"]) for s in m["shards"])


def _new_bucket(s3_server, name):
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=name)
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.mark.parametrize("where", ["{b}", "{b}/", "{b}/ds", "{b}/ds/", "{b}/ds/st"])
def test_staging_at_above_or_inside_out_refused(src, s3_bucket, run_split, where):
    fs = _fs()
    fs.pipe_file(f"{s3_bucket}/precious.txt", b"keep")
    before = _keys(s3_bucket)
    r = run_split(src, "--out", f"s3://{s3_bucket}/ds", *ARGS, "--staging", "s3://" + where.format(b=s3_bucket))
    fails(r, 2, "--staging", "--out")
    assert _keys(s3_bucket) == before  # nothing written, nothing deleted (not even a lock)


def test_staging_in_another_bucket_or_dataset_deletes_only_its_own(src, reference, s3_server, s3_bucket, run_split):
    """--staging at a bucket root holding an object, and at an existing dataset's prefix: both survive."""
    victim = f"{s3_bucket}-victim"
    _new_bucket(s3_server, victim)
    _fs().pipe_file(f"{victim}/precious.txt", b"keep")
    assert run_split(src, "--out", f"s3://{s3_bucket}/kw1", *ARGS).exit_code == 0
    kw1 = _keys(f"{s3_bucket}/kw1")
    r = run_split(src, "--out", f"s3://{s3_bucket}/a", *ARGS, "--staging", f"s3://{victim}")
    assert r.exit_code == 0, r.output
    r = run_split(src, "--out", f"s3://{s3_bucket}/b", *ARGS, "--staging", f"s3://{s3_bucket}/kw1")
    assert r.exit_code == 0, r.output
    assert _keys(victim) == {"precious.txt": b"keep"}
    assert _keys(f"{s3_bucket}/kw1") == kw1
    assert _remote_shards(f"{s3_bucket}/a") == _remote_shards(f"{s3_bucket}/b") == reference


def test_staging_in_missing_bucket_refused_not_created(src, s3_bucket, run_split):
    r = run_split(src, "--out", f"s3://{s3_bucket}/ds", *ARGS, "--staging", f"s3://{s3_bucket}-missing/st")
    fails(r, 1, f"{s3_bucket}-missing", "bucket does not exist")
    assert not _fs().exists(f"{s3_bucket}-missing")
    assert _keys(s3_bucket) == {}


def test_local_staging_dir_left_as_found(src, reference, s3_bucket, run_split, tmp_path):
    given = tmp_path / "stage"
    given.mkdir()
    (given / "precious.txt").write_text("keep")
    (given / "u000000-0000.arrow").write_text("not staged by datagen")
    r = run_split(src, "--out", f"s3://{s3_bucket}/ds", *ARGS, "--staging", given)
    assert r.exit_code == 0, r.output
    assert sorted(os.listdir(given)) == ["precious.txt", "u000000-0000.arrow"]
    assert (given / "u000000-0000.arrow").read_text() == "not staged by datagen"
    fresh = tmp_path / "fresh" / "stage"  # made by the run: gone after it
    r = run_split(src, "--out", f"s3://{s3_bucket}/ds2", *ARGS, "--staging", fresh)
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "fresh").exists()
    assert _remote_shards(f"{s3_bucket}/ds") == _remote_shards(f"{s3_bucket}/ds2") == reference


def _split_process(script, src, url, cwd, env_extra, *extra):
    env = {**os.environ, **env_extra, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    args = [sys.executable, str(ROOT / "tests" / script), str(src), "--out", url, *ARGS, "--no-progress",
            "--workers", "1", *map(str, extra)]
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_rerun_after_sigkill_removes_dead_runs_staging_only(src, reference, s3_bucket, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    url = f"s3://{s3_bucket}/ds"
    killed = _split_process("fault_s3_split.py", src, url, tmp_path, {"TMPDIR": str(tmp), "FAULT_KILL_AT_UPLOAD": "2"})
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    left = [n for n in os.listdir(tmp) if n.startswith("datagen-staging-")]
    assert len(left) == 1 and os.listdir(tmp / left[0])  # the dead run's staged files
    live = run_name()  # named for this (live) process: not a dead run's
    for keep in (live, "datagen-staging-foreign"):
        (tmp / keep).mkdir()
        (tmp / keep / "x").write_text("keep")
    rerun = _split_process("fault_s3_split.py", src, url, tmp_path, {"TMPDIR": str(tmp)})
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    left = sorted(n for n in os.listdir(tmp) if n.startswith("datagen-staging-"))
    assert left == sorted([live, "datagen-staging-foreign"])
    assert _remote_shards(url) == reference


def _wait_for(path, proc):
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(proc.communicate()[1])
        time.sleep(0.05)


@pytest.mark.parametrize("remote_staging", [False, True])
def test_two_splits_share_one_staging(src, reference, s3_bucket, tmp_path, remote_staging):
    """A is held after staging everything; B (other inputs, its own --out) runs whole through the same
    --staging; then A finishes: both are right."""
    staging = f"s3://{s3_bucket}/shstage" if remote_staging else str(tmp_path / "shstage")
    other = tmp_path / "other"
    write_sample(other, files=3, rows_per_file=1_500, seed=5, features=3, row_group_size=500)
    ref_b = tmp_path / "ref-b"
    api_split(SplitConfig(inputs=[str(other)], out=str(ref_b), progress=False, workers=1, **OPTS))
    if not remote_staging:
        os.mkdir(staging)
    hold = tmp_path / "hold"
    hold.mkdir()
    a = _split_process("hold_s3_split.py", src, f"s3://{s3_bucket}/a", tmp_path, {"HOLD_DIR": str(hold)},
                       "--staging", staging)
    try:
        _wait_for(hold / "held", a)
        b = _split_process("fault_s3_split.py", other, f"s3://{s3_bucket}/b", tmp_path, {}, "--staging", staging)
        _, err_b = b.communicate(timeout=300)
        assert b.returncode == 0, err_b
    finally:
        (hold / "go").touch()
        _, err_a = a.communicate(timeout=300)
    assert a.returncode == 0, err_a
    assert _remote_shards(f"{s3_bucket}/a") == reference
    assert _remote_shards(f"{s3_bucket}/b") == sorted((s.path, s.sha256) for s in read_manifest(ref_b).shards)
    if remote_staging:
        assert not _fs().exists(f"{s3_bucket}/shstage")
    else:
        assert os.listdir(staging) == []


def test_foreign_object_in_out_staging_refused_and_kept(src, s3_bucket, run_split, cluster):
    _fs().pipe_file(f"{s3_bucket}/kw6/.datagen-staging/notes.txt", b"mine")
    for sched in ([], ["--scheduler", cluster.scheduler_address]):
        r = run_split(src, "--out", f"s3://{s3_bucket}/kw6", *ARGS, *sched)
        fails(r, 1, ".datagen-staging/notes.txt", "did not write")
        assert _keys(f"{s3_bucket}/kw6") == {".datagen-staging/notes.txt": b"mine"}


def test_cluster_stages_in_its_own_child_of_out(src, reference, s3_bucket, run_split, cluster):
    """A dead run's child under <out>/.datagen-staging is deleted; the run's own child goes at the end."""
    dead = f"{s3_bucket}/ds/.datagen-staging/datagen-staging-otherhost-1-{'0' * 16}/u000000-0000.arrow"
    _fs().pipe_file(dead, b"x")
    r = run_split(src, "--out", f"s3://{s3_bucket}/ds", *ARGS, "--scheduler", cluster.scheduler_address)
    assert r.exit_code == 0, r.output
    assert not any(k.startswith(".datagen") for k in _keys(f"{s3_bucket}/ds"))
    assert _remote_shards(f"{s3_bucket}/ds") == reference


def test_lost_staged_file_is_blamed_on_staging(src, s3_bucket, tmp_path):
    """A staged object deleted under a running split: the one-line error names --staging, not --out."""
    hold = tmp_path / "hold"
    hold.mkdir()
    a = _split_process("hold_s3_split.py", src, f"s3://{s3_bucket}/a", tmp_path, {"HOLD_DIR": str(hold)},
                       "--staging", f"s3://{s3_bucket}/st")
    try:
        _wait_for(hold / "held", a)
        fs = _fs()
        fs.rm([k for k in fs.find(f"{s3_bucket}/st") if k.endswith(".arrow")])
    finally:
        (hold / "go").touch()
        _, err = a.communicate(timeout=300)
    assert a.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --staging 's3://{s3_bucket}/st'"), err
    assert not _fs().exists(f"{s3_bucket}/st") and not _fs().exists(f"{s3_bucket}/a/manifest.json")


def test_cluster_with_staging_url_leaves_nothing_there(src, reference, s3_server, s3_bucket, run_split, cluster):
    """The workers write the staged objects; the client (whose listings never saw them) still deletes them."""
    victim = f"{s3_bucket}-cv"
    _new_bucket(s3_server, victim)
    _fs().pipe_file(f"{victim}/precious.txt", b"keep")
    r = run_split(src, "--out", f"s3://{s3_bucket}/ds", *ARGS, "--scheduler", cluster.scheduler_address,
                  "--staging", f"s3://{victim}")
    assert r.exit_code == 0, r.output
    assert _keys(victim) == {"precious.txt": b"keep"}
    assert _remote_shards(f"{s3_bucket}/ds") == reference


def test_relative_local_staging_is_the_clients(src, reference, s3_bucket, run_split, cluster, tmp_path, monkeypatch):
    """A relative --staging DIR names the client's directory: the workers (another cwd) stage there too."""
    from distributed import Client

    name = f"rel-stage-{os.getpid()}-{tmp_path.name}"
    with Client(cluster) as client:
        worker_cwds = set(client.run(os.getcwd).values())
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).mkdir()
    assert all(Path(c) != tmp_path for c in worker_cwds)
    r = run_split(src, "--out", f"s3://{s3_bucket}/ds", *ARGS, "--scheduler", cluster.scheduler_address,
                  "--staging", name)
    strays = [Path(c) / name for c in worker_cwds if (Path(c) / name).exists()]
    for stray in strays:
        import shutil
        shutil.rmtree(stray)
    assert r.exit_code == 0, r.output
    assert not strays and os.listdir(tmp_path / name) == []
    assert _remote_shards(f"{s3_bucket}/ds") == reference
