"""``--storage-option`` values belong to the URLs they were given for (moto S3 on 127.0.0.1): they are
passed to the fsspec filesystem of those URLs (and what lies under them) only, never made fsspec's
process-wide defaults, so two datasets split with different options in one process do not mix."""

import fsspec.config
import pytest
import s3fs

from datagen import DataGenerator
from datagen.app.sample import write_sample
from datagen.contract.errors import DatagenError
from datagen.contract.storage import options_for, storage_scope, url_fs
from splitters.config import SplitConfig
from splitters.split import run_split

OPTS = dict(time_column="event_time", group_by=["month"], label="label", progress=False, workers=1)


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp("s3opts-src")
    write_sample(d, files=1, rows_per_file=600, seed=4, features=2)
    return d


def test_options_apply_under_their_url_only():
    with storage_scope(["s3://optb/a", "s3://optb/in/*.csv"], {"default_block_size": 3 << 20}), \
            storage_scope(["s3://optb/a/deeper"], {"default_block_size": 7 << 20}):
        assert options_for("s3://optb/a/x.parquet") == {"default_block_size": 3 << 20}
        assert options_for("s3://optb/a/deeper/x.parquet") == {"default_block_size": 7 << 20}  # the longest prefix
        assert options_for("s3://optb/in/part-1.csv") == {"default_block_size": 3 << 20}  # under the glob's fixed part
        for other in ("s3://optb/ab/x.parquet", "s3://optb/b", "s3://other/a/x"):
            assert options_for(other) == {}
        assert url_fs("s3://optb/a/x.parquet")[0].default_block_size == 3 << 20
        assert url_fs("s3://optb/b/x.parquet")[0].default_block_size != 3 << 20
        assert "s3" not in fsspec.config.conf or "default_block_size" not in fsspec.config.conf["s3"]


def test_two_datasets_with_different_options_do_not_mix(src, s3_bucket, tmp_path):
    good, bad = f"s3://{s3_bucket}/good", f"s3://{s3_bucket}/bad"
    run_split(SplitConfig(inputs=[str(src)], out=good, **OPTS))
    # a second dataset whose options point at an endpoint nothing listens on (127.0.0.1, port 9)
    with pytest.raises(DatagenError, match="cannot reach|storage error|Connect"):
        run_split(SplitConfig(inputs=[str(src)], out=bad, storage_options={
            "endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"retries": {"max_attempts": 1}}}, **OPTS))
    assert "endpoint_url" not in fsspec.config.conf.get("s3", {})  # never a process-wide default
    s3fs.S3FileSystem.clear_instance_cache()
    again = run_split(SplitConfig(inputs=[str(src)], out=good, **OPTS))  # the first dataset's filesystem is untouched
    assert again.status == "up to date"
    gen = DataGenerator(good, ["f0", "f1"], label="label", batch_size=100, cache_dir=tmp_path / "cache")
    assert gen.num_rows == 600


def test_storage_options_without_an_object_store_url_are_refused(src, tmp_path, run_split, run_datagen):
    from datagen import DataGenerator
    from datagen.contract.errors import ConfigError

    out = tmp_path / "local-ds"
    r = run_split(str(src), "--out", str(out), "--time-column", "event_time", "--group-by", "month",
                  "--no-progress", "--storage-option", "bogus=1")
    assert r.exit_code == 2 and "storage options apply to object-store URLs" in r.output
    assert "INPUTS/--out" in r.output and not out.exists()
    assert run_split(str(src), "--out", str(out), "--time-column", "event_time", "--group-by", "month",
                     "--no-progress").exit_code == 0
    for command in (["verify"], ["show"], ["provenance", "--features", "f0", "--batch", "0"]):
        r = run_datagen(*command[:1], str(out), *command[1:], "--storage-option", "anon=false")
        assert r.exit_code == 2 and "storage options apply to object-store URLs" in r.output, command
        assert "--storage-option anon" in r.output and "storage_options" not in r.output, command
    with pytest.raises(ConfigError, match="storage_options") as err:
        DataGenerator(out, ["f0"], storage_options={"anon": False})
    assert "--storage-option" not in str(err.value) and "\n" not in str(err.value)


def test_append_reads_bucket_inputs_with_the_storage_options_given(src, s3_server, s3_bucket, tmp_path, monkeypatch):
    """``--append --storage-option`` applies the options to the bucket inputs everywhere, the listing on
    this machine included: here the environment points at an endpoint nothing listens on and only the
    options name the real one (before, the listing took the environment's endpoint and failed)."""
    import boto3
    from cli_checks import split_cli

    out = tmp_path / "ds"
    first = run_split(SplitConfig(inputs=[str(src)], out=str(out), **OPTS))
    assert first.status == "written"
    more = tmp_path / "more"
    write_sample(more, files=1, rows_per_file=300, seed=9, features=2)
    client = boto3.client("s3", endpoint_url=s3_server)
    for f in more.iterdir():
        client.upload_file(str(f), s3_bucket, f"more/{f.name}")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    s3fs.S3FileSystem.clear_instance_cache()
    r = split_cli(f"s3://{s3_bucket}/more", "--out", str(out), "--append", "--no-progress",
                  "--storage-option", f"endpoint_url={s3_server}")
    assert r.exit_code == 0, r.output
    gen = DataGenerator(str(out), ["f0", "f1"], label="label", batch_size=100, cache_dir=tmp_path / "cache")
    assert gen.num_rows == 900


def test_append_refuses_storage_options_that_are_not_a_mapping(src, tmp_path):
    from datagen.contract.errors import ConfigError
    from splitters.append import run_append

    out = tmp_path / "ds"
    run_split(SplitConfig(inputs=[str(src)], out=str(out), **OPTS))
    before = sorted(p.name for p in out.rglob("*"))
    for bad in ("endpoint_url=x", ["endpoint_url"], {"": 1}):
        with pytest.raises(ConfigError, match="storage_options: expected a mapping"):
            run_append({"inputs": ["s3://nowhere/more"], "out": str(out), "storage_options": bad})
    assert sorted(p.name for p in out.rglob("*")) == before


def test_append_of_a_bucket_input_it_cannot_read_is_one_line(src, s3_server, s3_bucket, tmp_path):
    """Listed but not readable (moto answers anonymous reads with 403): the fingerprint task's error names
    the input, as the split's does, instead of an internal error."""
    import boto3
    from cli_checks import split_cli

    out = tmp_path / "ds"
    run_split(SplitConfig(inputs=[str(src)], out=str(out), **OPTS))
    manifest = (out / "manifest.json").read_bytes()
    more = tmp_path / "more"
    write_sample(more, files=1, rows_per_file=50, seed=3, features=2)
    for f in more.iterdir():
        boto3.client("s3", endpoint_url=s3_server).upload_file(str(f), s3_bucket, f"more/{f.name}")
    s3fs.S3FileSystem.clear_instance_cache()
    r = split_cli(f"s3://{s3_bucket}/more", "--out", str(out), "--append", "--no-progress",
                  "--storage-option", f"endpoint_url={s3_server}", "--storage-option", "anon=true")
    if r.exit_code == 0:
        pytest.skip("this moto version serves anonymous reads")
    assert r.exit_code == 1 and "internal error" not in r.output, r.output
    assert f"s3://{s3_bucket}/more/" in r.output and "cannot read" in r.output and len(r.output.strip().splitlines()) == 1
    assert (out / "manifest.json").read_bytes() == manifest


def test_two_runs_in_threads_read_one_url_through_their_own_endpoints(src, s3_server, tmp_path, monkeypatch):
    """Two splits running at once in one process read ``s3://same-url/more`` through two servers (each
    run's --storage-option endpoint_url): each task thread holds its own run's options, so each dataset
    has its own server's rows. Before, task threads saw the options of every run in progress and the
    runs crossed (a false "changed while it was being split", or the other server's bytes). The second
    server runs in a process of its own: moto's servers in one process share one store."""
    import socket
    import subprocess
    import sys
    import threading
    import time

    import boto3

    from s3_server import free_port

    port = free_port()
    other = subprocess.Popen([sys.executable, "-c", "import time; from moto.server import ThreadedMotoServer; "
                              f"ThreadedMotoServer(ip_address='127.0.0.1', port={port}, verbose=False).start(); "
                              "time.sleep(600)"])
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        endpoints = {300: s3_server, 500: f"http://127.0.0.1:{port}"}
        for rows, endpoint in endpoints.items():
            client = boto3.client("s3", endpoint_url=endpoint)
            client.create_bucket(Bucket="same-url")
            data = tmp_path / f"src{rows}"
            write_sample(data, files=2, rows_per_file=rows // 2, seed=rows, features=2)
            for f in data.iterdir():
                client.upload_file(str(f), "same-url", f"more/{f.name}")
        monkeypatch.delenv("AWS_ENDPOINT_URL")
        s3fs.S3FileSystem.clear_instance_cache()
        for attempt in range(2):   # the crossing showed in every run before; twice to be sure
            results, errors = {}, []

            def split(rows):
                try:
                    results[rows] = run_split(SplitConfig(
                        inputs=["s3://same-url/more"], out=str(tmp_path / f"ds{rows}-{attempt}"),
                        storage_options={"endpoint_url": endpoints[rows]}, **{**OPTS, "workers": 2}))
                except Exception as exc:   # noqa: BLE001  (reported below)
                    errors.append(f"{rows}: {exc!r}")

            threads = [threading.Thread(target=split, args=(rows,)) for rows in endpoints]
            [t.start() for t in threads]
            [t.join() for t in threads]
            assert not errors, errors
            assert {rows: r.rows for rows, r in results.items()} == {300: 300, 500: 500}
    finally:
        other.kill()
        other.wait()
