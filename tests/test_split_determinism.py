"""Same inputs + same config => byte-identical shards, whichever scheduler ran
it (local threads, or a dask.distributed cluster of worker processes)."""

from cli_checks import fails
from datagen.contract.manifest import read_manifest


def _digests(out):
    m = read_manifest(out)
    return [(s.path, s.sha256, s.rows) for s in m.shards]


def test_local_and_distributed_give_identical_shards(sample_parquet, run_split, tmp_path, cluster):
    args = ["--time-column", "event_time", "--group-by", "month,category", "--label", "label",
            "--max-rows-per-shard", "150"]
    assert run_split(sample_parquet, "--out", tmp_path / "local", *args, "--workers", "1").exit_code == 0
    r = run_split(sample_parquet, "--out", tmp_path / "dist", *args, "--scheduler", cluster.scheduler_address)
    assert r.exit_code == 0, r.stderr
    # a different partitioning of the work (memory limit -> smaller staged batches) must not matter either
    assert run_split(sample_parquet, "--out", tmp_path / "small", *args, "--memory-limit", "64MiB",
                     "--workers", "2").exit_code == 0
    local = _digests(tmp_path / "local")
    assert len(local) > 60
    assert _digests(tmp_path / "dist") == local
    assert _digests(tmp_path / "small") == local
    assert read_manifest(tmp_path / "dist").sources == read_manifest(tmp_path / "local").sources


def test_unreachable_scheduler_is_a_clear_error(sample_parquet, run_split, tmp_path):
    import dask

    with dask.config.set({"datagen.connect-timeout": "1s"}):
        r = run_split(sample_parquet, "--out", tmp_path / "o", "--time-column", "event_time",
                      "--scheduler", "tcp://127.0.0.1:9")
    fails(r, 1, "tcp://127.0.0.1:9")
    assert not (tmp_path / "o").exists()
