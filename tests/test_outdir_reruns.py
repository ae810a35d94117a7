"""Reruns and odd --out spellings (issue #10, found by a hostile run): "up to date" re-hashes the
shards, inputs spelled differently are the same inputs, "link/.." is resolved as the OS does, and a
lock file that is not a regular file is never touched."""

import os

import pytest

from datagen.contract.manifest import read_manifest
from gen_fixtures import stamps, write_parquet

ARGS = ("--time-column", "t", "--group-by", "day")


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "src"
    write_parquet(d / "a.parquet", {"t": stamps(100), "v": [float(i) for i in range(100)]},
                  compression="none", use_dictionary=False)
    return d


def test_a_shard_changed_in_place_is_not_up_to_date(src, tmp_path, run_split):
    out = tmp_path / "out"
    assert run_split(src, "--out", out, *ARGS).exit_code == 0
    shard = out / read_manifest(out).shards[0].path
    data = bytearray(shard.read_bytes())
    st = shard.stat()
    data[len(data) // 3] ^= 0xFF  # same size, same mtime
    shard.write_bytes(bytes(data))
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = run_split(src, "--out", out, *ARGS)
    assert r.exit_code == 1 and "does not verify" in r.output and "--overwrite" in r.output, r.output


def test_inputs_spelled_differently_are_up_to_date(src, tmp_path, run_split, monkeypatch):
    out = tmp_path / "out"
    assert run_split(src, "--out", out, *ARGS).exit_code == 0
    monkeypatch.chdir(tmp_path)
    for spelling in ("src", "./src/*.parquet", str(src / "a.parquet")):
        r = run_split(spelling, "--out", out, *ARGS)
        assert r.exit_code == 0 and "up to date" in r.output, (spelling, r.output)
    r = run_split(src, "--out", out, "--time-column", "t", "--group-by", "month")
    assert r.exit_code == 1 and "made with other options (group_by)" in r.output


def test_out_through_a_symlink_and_dotdot_is_where_the_os_puts_it(src, tmp_path, run_split):
    (tmp_path / "deep" / "a" / "b").mkdir(parents=True)
    os.symlink(tmp_path / "deep" / "a" / "b", tmp_path / "L")
    r = run_split(src, "--out", f"{tmp_path}/L/../x", *ARGS)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "deep" / "a" / "x" / "manifest.json").exists()
    assert not (tmp_path / "x").exists()


def test_a_fifo_named_like_the_lock_is_refused_and_kept(src, tmp_path, run_split):
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / ".datagen.lock")
    r = run_split(src, "--out", out, *ARGS)
    assert r.exit_code == 1 and "not a regular file" in r.output, r.output
    assert (out / ".datagen.lock").exists() and os.listdir(out) == [".datagen.lock"]
