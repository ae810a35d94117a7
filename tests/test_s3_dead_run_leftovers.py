"""A split into a bucket killed at the worst moments (kill -9 between uploads; an ``--overwrite`` killed
right after its manifest PUT, before the old version's objects were deleted) leaves objects no
committed manifest lists; the next run on that --out deletes them under the lock (datagen's own
names only), so the bucket holds exactly what the manifest lists (moto S3 on 127.0.0.1, real processes)."""

import pytest
import s3fs

from datagen.app.sample import write_sample

ARGS = ["--time-column", "event_time", "--group-by", "month", "--label", "label", "--no-progress"]
KILL_AFTER_COMMIT = """
import os, sys
import splitters.remote_out as ro
def commit(self, text, old, manifest):
    self.fs.pipe_file(self.key("manifest.json"), text.encode())
    os._exit(137)  # as kill -9 right after the commit PUT
ro.RemoteOut.commit = commit
from splitters.cli import main
sys.argv = ["split-datasets", *sys.argv[1:]]
main()
"""
KILL_MID_UPLOAD = """
import os, sys
import splitters.remote_split as rs
done = []
upload = rs.upload_shard
def upload_shard(root_url, rel, data):
    upload(root_url, rel, data)
    done.append(rel)
    if len(done) == 3:
        os._exit(137)  # as kill -9 between two uploads
rs.upload_shard = upload_shard
from splitters.cli import main
sys.argv = ["split-datasets", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="module")
def srcs(tmp_path_factory):
    d = tmp_path_factory.mktemp("leftover-src")
    write_sample(d / "a", files=1, rows_per_file=900, seed=11, features=2)
    write_sample(d / "b", files=1, rows_per_file=700, seed=12, features=2)
    return d / "a", d / "b"


def _objects(fs, root):
    fs.invalidate_cache()
    return {k[len(root) + 1:] for k in fs.find(root)}


def _listed(fs, root):
    from datagen.contract.remote import RemoteDataset

    m = RemoteDataset(f"s3://{root}").read_manifest_with_hash()[0]
    return {s.path for s in m.shards} | {m.footer_pack.path, "manifest.json"}


def _driver(tmp_path, text, *args):
    """The split CLI as a real process (this checkout first on the path) with ``text``'s fault injected."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "driver.py"
    path.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, str(path), *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=300)


def test_an_overwrite_killed_after_its_commit_leaves_nothing_after_the_next_run(srcs, s3_bucket, tmp_path, run_split):
    fs, root = s3fs.S3FileSystem(skip_instance_cache=True), f"{s3_bucket}/ds"
    a, b = srcs
    assert run_split(a, "--out", f"s3://{root}", *ARGS).exit_code == 0
    first = _listed(fs, root)
    p = _driver(tmp_path, KILL_AFTER_COMMIT, b, "--out", f"s3://{root}", "--overwrite", *ARGS)
    assert p.returncode == 137, p.stderr
    second = _listed(fs, root)
    assert first - second and (first - second) <= _objects(fs, root)  # the old version's objects stayed
    fs.pipe_file(f"{root}/notes/keep.parquet", b"not ours")  # someone else's object: never swept
    fs.pipe_file(f"{root}/month=01/part-00000.parquet", b"not a content name either")
    r = run_split(b, "--out", f"s3://{root}", *ARGS)
    assert r.exit_code == 0 and "up to date" in r.output, r.output
    assert _objects(fs, root) == second | {"notes/keep.parquet", "month=01/part-00000.parquet"}


def test_a_split_killed_mid_upload_then_a_different_rerun(srcs, s3_bucket, tmp_path, run_split):
    fs, root = s3fs.S3FileSystem(skip_instance_cache=True), f"{s3_bucket}/ds"
    a, b = srcs
    p = _driver(tmp_path, KILL_MID_UPLOAD, a, "--out", f"s3://{root}", *ARGS, "--workers", "1")
    assert p.returncode == 137, p.stderr
    left = _objects(fs, root)
    assert len([k for k in left if k.endswith(".parquet")]) == 3 and ".datagen.lock" in left
    assert run_split(b, "--out", f"s3://{root}", *ARGS).exit_code == 0  # other inputs: other shard names
    assert _objects(fs, root) == _listed(fs, root)
