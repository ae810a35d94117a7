"""Fault injection: the split CLI runs in a subprocess (tests/fault_split.py) and is
SIGKILLed just before its Nth filesystem change, for N spread over every phase
(lock, journal, staging, shard writes, moves into place, the manifest commit,
clean-up), for a fresh split and for an --overwrite
of an existing dataset. After each kill:

- the previous dataset is never lost: manifest.json is absent (fresh), the old
  one with every old shard byte-identical, or the new one, and it verifies;
- rerunning the same command succeeds and leaves exactly the tree a clean run
  leaves (same files, same bytes, same shard paths; manifest equal but for
  created_at), with no internal file left over.

Also: two real split processes on one --out (the second is refused, the first
completes)."""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.contract.verify import verify_dataset
from gen_fixtures import stamps
from manifest_edit import load  # shards as entries, written back as the format's table

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "fault_split.py"
ARGS = ["--time-column", "t", "--group-by", "year,month", "--workers", "2", "--no-progress"]


def _write_inputs(d: Path) -> tuple[Path, Path]:
    n = 3000
    t = stamps(n, 7 * 3_600)
    pq.write_table(pa.table({"t": t, "v": np.arange(n), "k": np.arange(n) % 3}), d / "a.parquet", row_group_size=1000)
    # b adds rows to some months only: on overwrite, the other months' shards are byte-identical
    tb = pa.array((np.arange(200) * 24 + 5) * 3600 * 10**9, type=pa.timestamp("ns", "UTC"))
    pq.write_table(pa.table({"t": tb, "v": np.arange(200) + 10**6, "k": np.arange(200) % 3}), d / "b.parquet")
    return d / "a.parquet", d / "b.parquet"


def _run(args, env=None, check=None):
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    r = subprocess.run([sys.executable, str(RUNNER), *map(str, args)], env=full, capture_output=True, text=True,
                       timeout=300)
    if check is not None:
        assert r.returncode == check, (r.returncode, r.stdout, r.stderr)
    return r


def _snapshot(out: Path) -> dict:
    """Every file (sha256; the manifest without created_at) and every directory under out."""
    snap = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_dir():
            snap[rel] = "dir"
        elif rel == "manifest.json":
            data = load(path)
            data.pop("created_at")
            snap[rel] = data
        elif rel.startswith("_versions/0"):  # version records carry the commit's time too (and the parent
            data = json.loads(path.read_text())  # manifest's hash, which covers the parent's time)
            data.pop("created_at")
            data.pop("parent_manifest_sha256"), data.pop("parent_text_sha256")
            data["head"].pop("created_at")
            snap[rel] = data
        else:
            snap[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return snap


def _ops(args, tmp: Path) -> list[tuple[int, str, str]]:
    log = tmp / "ops.log"
    _run(args, {"FAULT_LOG": str(log)}, check=0)
    ops = []
    for line in log.read_text().splitlines():
        n, op, path = line.split(" ", 2)
        ops.append((int(n), op, path))
    log.unlink()
    return ops


def _kill_points(ops, extra: int, seed: int) -> list[int]:
    """One kill before the first change of each kind of step, around the commit, and some at random."""
    def first(pred):
        return next((n for n, op, path in ops if pred(op, path)), None)

    moves = [n for n, op, path in ops if op == "replace" and "/shards/" in path]
    commit = first(lambda op, path: op == "replace" and path.endswith(".manifest.json.tmp"))
    record = first(lambda op, path: path.endswith(".record.tmp"))
    points = {
        1, 2,
        first(lambda op, path: path.endswith(".datagen-journal")),
        first(lambda op, path: path.endswith(".datagen-staging")),
        first(lambda op, path: op == "arrow-open"),
        first(lambda op, path: op == "open" and path.endswith(".parquet")),
        moves[0] - 1, moves[0], moves[len(moves) // 2], moves[-1] + 1,   # announce, first, middle, after the moves
        commit, commit + 1, commit + 2,
        record, record and record + 1,   # with the version record half-written, and after it
        first(lambda op, path: op == "unlink" and path.endswith(".datagen-journal")),
        len(ops),  # removing the lock file
    }
    rng = random.Random(seed)
    points |= set(rng.sample(range(3, len(ops)), extra))
    return sorted(p for p in points if p is not None and 1 <= p <= len(ops))


def _check_after_kill(out: Path, old: dict | None, new: dict) -> None:
    if not (out / "manifest.json").exists():
        assert old is None, "the previous dataset was lost"
        return
    manifest = load((out / "manifest.json"))
    manifest.pop("created_at")
    expected = old if old is not None and manifest == old["manifest.json"] else new
    assert manifest == expected["manifest.json"], "manifest.json is neither the old nor the new one"
    report = verify_dataset(out)
    assert report.ok, report.problems
    for s in manifest["shards"]:  # the listed shards are exactly the ones of that version
        assert _snapshot(out)[s["path"]] == expected[s["path"]]


def _scenario(tmp_path, run_split, run_datagen, command, setup, kills):
    clean = tmp_path / "clean"
    setup(clean)
    old = _snapshot(clean) if clean.exists() and (clean / "manifest.json").exists() else None
    ops = _ops([*command, "--out", clean], tmp_path)  # the clean run, logging its changes
    new = _snapshot(clean)
    assert not [k for k in new if k.split("/")[-1].startswith(".")], "internal files left by a clean run"
    points = _kill_points(ops, extra=kills, seed=len(ops))
    for point in points:
        out = tmp_path / f"k{point}"
        setup(out)
        r = _run([*command, "--out", out], {"FAULT_KILL_AT": str(point)})
        if r.returncode == 0 and point >= len(ops) - 1:
            # a run may make one change fewer than the logged one (a library's own write): then it ends
            # before the kill point at the very end, and it must simply have left the clean result
            assert _snapshot(out) == new, (point, ops[point - 1])
            shutil.rmtree(out)
            continue
        assert r.returncode == -9, (point, ops[point - 1], r.returncode, r.stderr)
        _check_after_kill(out, old, new)
        r = run_split(*command, "--out", out)
        assert r.exit_code == 0, (point, ops[point - 1], r.output, r.stderr)
        assert _snapshot(out) == new, (point, ops[point - 1])
        r = run_datagen("verify", out)
        assert r.exit_code == 0 and "OK" in r.output, r.output
        shutil.rmtree(out)
    return points, ops


def test_kill_anywhere_in_a_fresh_split_then_rerun(tmp_path, run_split, run_datagen):
    a, _ = _write_inputs(tmp_path)
    command = [a, *ARGS]
    points, ops = _scenario(tmp_path, run_split, run_datagen, command, lambda out: None, kills=4)
    assert len(points) >= 12


def test_kill_anywhere_in_an_overwrite_then_rerun(tmp_path, run_split, run_datagen):
    a, b = _write_inputs(tmp_path)
    old_command = [a, *ARGS]

    def setup(out):
        assert run_split(*old_command, "--out", out).exit_code == 0

    command = [a, b, *ARGS, "--overwrite"]
    points, ops = _scenario(tmp_path, run_split, run_datagen, command, setup, kills=5)
    # the overwrite keeps the shards whose bytes did not change and writes new ones; since versions it deletes
    # no shard (the old version keeps its shards until datagen vacuum)
    assert not any(op == "unlink" and path.endswith(".parquet") for _, op, path in ops)
    assert len(points) >= 14


def test_a_rerun_killed_while_recovering_is_recovered_by_the_next(tmp_path, run_split):
    a, b = _write_inputs(tmp_path)
    clean = tmp_path / "clean"
    assert run_split(a, *ARGS, "--out", clean).exit_code == 0
    old = _snapshot(clean)
    command = [a, b, *ARGS, "--overwrite"]
    assert run_split(*command, "--out", clean).exit_code == 0
    new = _snapshot(clean)
    probe = tmp_path / "probe"  # (an overwrite with what the dataset holds already commits nothing: no moves)
    assert run_split(a, *ARGS, "--out", probe).exit_code == 0
    ops = _ops([*command, "--out", probe], tmp_path)
    moves = [n for n, op, path in ops if op == "replace" and "/shards/" in path]
    for first_kill, second_kill in ((moves[len(moves) // 2], 4), (moves[-1] + 2, 5)):
        out = tmp_path / f"n{first_kill}"
        assert run_split(a, *ARGS, "--out", out).exit_code == 0
        assert _run([*command, "--out", out], {"FAULT_KILL_AT": str(first_kill)}).returncode == -9
        assert _run([*command, "--out", out], {"FAULT_KILL_AT": str(second_kill)}).returncode == -9
        _check_after_kill(out, old, new)
        r = run_split(*command, "--out", out)
        assert r.exit_code == 0, r.stderr
        assert _snapshot(out) == new


@pytest.mark.parametrize("where", ["after the lock", "while moving shards into place"])
def test_two_splits_into_one_out(tmp_path, run_split, where):
    """A real split paused while holding the lock; a second real split is refused at once
    (also the up-to-date check waits for no one); the first then completes."""
    a, b = _write_inputs(tmp_path)
    out = tmp_path / "o"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    command = [a, b, *ARGS, "--overwrite", "--out", out]
    shutil.copytree(out, tmp_path / "probe")
    ops = _ops([a, b, *ARGS, "--overwrite", "--out", tmp_path / "probe"], tmp_path)
    pause_at = next(n for n, op, path in ops if (path.endswith(".datagen-journal") if where == "after the lock"
                                                else op == "replace" and "/shards/" in path))
    before = _snapshot(out)
    gate = tmp_path / "gate"
    gate.mkdir()
    full = {**os.environ, "PYTHONPATH": str(ROOT), "FAULT_PAUSE_AT": str(pause_at), "FAULT_PAUSE_DIR": str(gate)}
    first = subprocess.Popen([sys.executable, str(RUNNER), *map(str, command)], env=full,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not (gate / "paused").exists() and first.poll() is None:
            time.sleep(0.01)
        assert (gate / "paused").exists(), first.communicate()
        for second in ([*command], [a, *ARGS, "--out", out]):  # an overwrite, and an up-to-date check
            r = _run(second)
            assert r.returncode == 1, (r.stdout, r.stderr)
            err = r.stderr.strip()
            assert err == f"error: another split is writing {str(out)!r} (pid {first.pid}); wait for it to finish", err
    finally:
        (gate / "go").touch()
        stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert "written" in stdout
    assert verify_dataset(out).ok
    clean = tmp_path / "clean"
    assert run_split(a, *ARGS, "--out", clean).exit_code == 0
    assert run_split(a, b, *ARGS, "--overwrite", "--out", clean).exit_code == 0
    assert _snapshot(out) == _snapshot(clean) != before
