"""Dataset versions (issue 15 items 2, 3 and 6): every commit is a version; old versions read exactly
as they were (same batches, same provenance); log; vacuum; a generator survives an append; overwrite
deletes no file; two appends at once; kill -9 anywhere in an append."""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from cli_checks import fails
from datagen import DataGenerator
from datagen.contract.manifest import read_manifest, read_manifest_with_hash
from datagen.contract.verify import verify_dataset
from test_append import ARGS, day_file
from test_fault_injection import RUNNER, ROOT, _ops, _scenario
from manifest_edit import dump, load  # shards as entries, written back as the format's table

FEATURES = ["x", "f"]


def batches(gen):
    return [tuple(np.asarray(a).copy() for a in gen[i]) for i in range(len(gen))]


def same(a, b):
    return len(a) == len(b) and all(all(np.array_equal(x, y) for x, y in zip(p, q)) for p, q in zip(a, b))


@pytest.fixture
def grown(tmp_path, run_split):
    """A dataset of three versions: split a, append b, append c."""
    files = [day_file(tmp_path / f"{n}.parquet", d0, 30, 400, i) for i, (n, d0) in enumerate((("a", 0), ("b", 25),
                                                                                              ("c", 50)))]
    out = tmp_path / "ds"
    assert run_split(files[0], *ARGS, "--out", out).exit_code == 0
    v1 = (out / "manifest.json").read_bytes()
    assert run_split(files[1], "--out", out, "--append").exit_code == 0
    v2 = (out / "manifest.json").read_bytes()
    assert run_split(files[2], "--out", out, "--append").exit_code == 0
    return out, files, [v1, v2, (out / "manifest.json").read_bytes()]


def test_every_old_version_replays_to_the_manifest_it_was(grown):
    out, _, texts = grown
    import hashlib
    for n, text in enumerate(texts, start=1):
        m, sha = read_manifest_with_hash(out, n)
        assert m.version == n and sha == hashlib.sha256(text).hexdigest()
        assert load(text)["shards"] == [s for s in m.to_dict()["shards"]]


def test_a_generator_reads_an_old_version_exactly_and_its_config_records_it(tmp_path, run_split):
    a = day_file(tmp_path / "a.parquet", 0, 30, 400, 1)
    b = day_file(tmp_path / "b.parquet", 20, 30, 400, 2)
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    opts = dict(label="y", batch_size=64, shuffle=True, seed=7)
    gen = DataGenerator(out, FEATURES, **opts)
    before = batches(gen)
    gen.on_epoch_end()
    before_e1 = [gen.source.batch(i, 1) for i in range(len(gen))]
    config = gen.config
    prov = gen.provenance(3)
    assert config["version"] == 1
    assert run_split(b, "--out", out, "--append").exit_code == 0
    old = DataGenerator(out, FEATURES, version=1, **opts)
    assert same(batches(old), before) and old.num_rows == 400
    assert same([old.source.batch(i, 1) for i in range(len(old))], before_e1)
    again = DataGenerator.from_config(config)      # an earlier run's config: the version it trained on
    assert same(batches(again), before)
    assert again.provenance(3).equals(prov)        # rows appended later never change an old run's answer
    current = DataGenerator(out, FEATURES, **opts)
    assert current.num_rows == 800 and current.config["version"] == 2


def test_provenance_cli_uses_the_version_of_the_run(tmp_path, run_split, run_datagen):
    a = day_file(tmp_path / "a.parquet", 0, 30, 400, 1)
    b = day_file(tmp_path / "b.parquet", 0, 30, 400, 2)    # same months: new parts beside the old ones
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    gen = DataGenerator(out, FEATURES, label="y", batch_size=50, shuffle=True, seed=3)
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps(gen.config))
    first = run_datagen("provenance", out, "--config", cfg, "--batch", "2", "--format", "csv")
    assert first.exit_code == 0, first.output
    assert run_split(b, "--out", out, "--append").exit_code == 0
    later = run_datagen("provenance", out, "--config", cfg, "--batch", "2", "--format", "csv")
    assert later.output == first.output
    by_flag = run_datagen("provenance", out, "--features", "x,f", "--label", "y", "--batch-size", "50", "--shuffle",
                          "--seed", "3", "--version", "1", "--batch", "2", "--format", "csv")
    assert by_flag.output == first.output
    now = run_datagen("provenance", out, "--features", "x,f", "--label", "y", "--batch-size", "50", "--shuffle",
                      "--seed", "3", "--batch", "2", "--format", "csv")
    assert now.exit_code == 0 and now.output != first.output


def test_log_show_version_and_unknown_versions(grown, run_datagen):
    out, _, _ = grown
    r = run_datagen("log", out)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 0 and len(lines) == 3
    assert "split" in lines[0] and "+400 rows" in lines[0]
    assert "append" in lines[1] and "+400 rows" in lines[1] and "-0 shards" in lines[1]
    r = run_datagen("show", out, "--version", "1", "--json")
    data = json.loads(r.output)
    assert data["version"] == 1 and data["rows"] == 400 and len(data["sources"]) == 1
    assert json.loads(run_datagen("show", out, "--json").output)["rows"] == 1200
    fails(run_datagen("show", out, "--version", "4"), 2, "versions are 1..3")
    fails(run_datagen("show", out, "--version", "0"), 2, "versions are 1..3")
    with pytest.raises(Exception, match="version: expected a positive integer"):
        DataGenerator(out, FEATURES, version=0)


def test_a_changed_record_is_refused_not_replayed(grown, run_datagen):
    out, _, _ = grown
    rec = out / "_versions" / "00000002.json"
    data = load(rec)
    data["shards_added"] = data["shards_added"][:-1]
    rec.write_text(dump(data))
    r = run_datagen("show", out, "--version", "1")
    assert r.exit_code == 0   # version 1 replays from record 1 alone
    fails(run_datagen("show", out, "--version", "2"), 1, "00000002.json")


def test_overwrite_is_a_version_that_deletes_no_file_and_vacuum_frees_it(tmp_path, run_split, run_datagen):
    a = day_file(tmp_path / "a.parquet", 0, 60, 400, 1)
    b = day_file(tmp_path / "b.parquet", 0, 60, 400, 2)
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    v1 = read_manifest(out)
    gen_v1 = DataGenerator(out, FEATURES, label="y", batch_size=64)
    expected = batches(gen_v1)
    r = run_split(b, *ARGS, "--out", out, "--overwrite")
    assert r.exit_code == 0 and f"datagen vacuum {out} --keep 1" in r.output
    assert all((out / s.path).exists() for s in v1.shards)        # no file deleted
    assert same(batches(gen_v1), expected)                          # the open generator reads on
    assert same(batches(DataGenerator(out, FEATURES, label="y", batch_size=64, version=1)), expected)
    foreign = out / v1.shards[0].path.split("/")[0] / "mine.parquet"   # a file no version lists
    foreign.write_bytes(b"keep me")
    r = run_datagen("vacuum", out, "--keep", "2", "--dry-run")
    assert r.exit_code == 0 and "would free 0.0 MB in 0 shard files" in r.output
    r = run_datagen("vacuum", out, "--keep", "1", "--dry-run")
    assert r.exit_code == 0 and r.output.count("would delete") == len(v1.shards)
    assert all((out / s.path).exists() for s in v1.shards)
    r = run_datagen("vacuum", out, "--keep", "1")
    assert r.exit_code == 0 and r.output.count("deleting") == len(v1.shards)
    assert not any((out / s.path).exists() for s in v1.shards)
    assert foreign.read_bytes() == b"keep me"
    assert verify_dataset(out).ok                                   # the kept version needs none of them
    fails(run_datagen("vacuum", out, "--keep", "0"), 2, "--keep")


def test_vacuum_never_deletes_a_shard_a_kept_version_lists(grown, run_datagen):
    out, _, _ = grown
    r = run_datagen("vacuum", out, "--keep", "1")
    assert r.exit_code == 0 and "0 shard files" in r.output      # appends remove nothing: every shard is current
    for n in (1, 2, 3):
        assert verify_dataset(out, read_manifest_with_hash(out, n)[0]).ok


def _pause_run(command, at, gate):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FAULT_PAUSE_AT": str(at), "FAULT_PAUSE_DIR": str(gate)}
    proc = subprocess.Popen([sys.executable, str(RUNNER), *map(str, command)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    while not (gate / "paused").exists() and proc.poll() is None:
        time.sleep(0.01)
    assert (gate / "paused").exists(), proc.communicate()
    return proc


def _commit_point(tmp_path, setup, command):
    probe = tmp_path / "probe"
    setup(probe)
    ops = _ops([*command, "--out", probe], tmp_path)
    return next(n for n, op, path in ops if op == "replace" and path.endswith(".manifest.json.tmp"))


def test_a_generator_reading_version_n_is_unharmed_while_an_append_commits(tmp_path, run_split):
    a = day_file(tmp_path / "a.parquet", 0, 60, 3000, 1)
    b = day_file(tmp_path / "b.parquet", 0, 60, 3000, 2)
    out = tmp_path / "ds"

    def setup(d):
        assert run_split(a, *ARGS, "--out", d).exit_code == 0

    setup(out)
    command = [b, "--out", out, "--append", "--no-progress"]
    at = _commit_point(tmp_path, setup, [b, "--append", "--no-progress"])
    gen = DataGenerator(out, FEATURES, label="y", batch_size=100, shuffle=True, seed=5, memory_budget="1MB")
    expected = batches(gen)
    results, errors, stop = [], [], threading.Event()

    def reader():
        try:
            while not stop.is_set() or len(results) < 3:
                results.append(same(batches(gen), expected))
        except Exception as exc:  # reported below
            errors.append(exc)

    gate = tmp_path / "gate"
    gate.mkdir()
    proc = _pause_run(command, at, gate)   # paused just before the manifest commit, new shards in place
    thread = threading.Thread(target=reader)
    thread.start()
    while len(results) < 1 and thread.is_alive():
        time.sleep(0.01)
    (gate / "go").touch()
    out_text, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert read_manifest(out).version == 2
    n_after = len(results)
    stop.set()
    thread.join(timeout=300)
    assert not errors, errors
    assert all(results) and len(results) > n_after >= 1   # whole epochs read before and after the commit


def test_two_appends_at_once_the_second_fails_with_one_line(tmp_path, run_split):
    a = day_file(tmp_path / "a.parquet", 0, 30, 500, 1)
    b = day_file(tmp_path / "b.parquet", 30, 30, 500, 2)
    c = day_file(tmp_path / "c.parquet", 60, 30, 500, 3)
    out = tmp_path / "ds"

    def setup(d):
        assert run_split(a, *ARGS, "--out", d).exit_code == 0

    setup(out)
    at = _commit_point(tmp_path, setup, [b, "--append", "--no-progress"])
    gate = tmp_path / "gate"
    gate.mkdir()
    first = _pause_run([b, "--out", out, "--append", "--no-progress"], at, gate)
    try:
        r = subprocess.run([sys.executable, str(RUNNER), str(c), "--out", str(out), "--append", "--no-progress"],
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
        assert r.returncode == 1
        assert r.stderr.strip() == f"error: another split is writing {str(out)!r} (pid {first.pid}); wait for it to " \
                                   "finish"
    finally:
        (gate / "go").touch()
        first.communicate(timeout=300)
    assert first.returncode == 0
    assert run_split(c, "--out", out, "--append").exit_code == 0     # then it goes through: no lost update
    m = read_manifest(out)
    assert m.version == 3 and [s.path for s in m.sources] == [str(a), str(b), str(c)]


def test_kill_anywhere_in_an_append_then_rerun(tmp_path, run_split, run_datagen):
    """kill -9 before each kind of filesystem change of an append: version N stays readable and verifies
    (or N+1 is complete), and the rerun leaves exactly what an uninterrupted append leaves."""
    a = day_file(tmp_path / "a.parquet", 0, 60, 2000, 1)
    b = day_file(tmp_path / "b.parquet", 40, 40, 800, 2)   # new parts in existing months, and a new month

    def setup(out):
        assert run_split(a, *ARGS, "--workers", "2", "--out", out).exit_code == 0

    command = [b, "--append", "--workers", "2", "--no-progress"]
    points, ops = _scenario(tmp_path, run_split, run_datagen, command, setup, kills=4)
    assert len(points) >= 10
    assert any(path.endswith("_versions/.record.tmp") for _, _, path in ops)
    assert not any(op == "unlink" and path.endswith(".parquet") for _, op, path in ops)
