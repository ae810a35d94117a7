"""A source whose mtime changed but whose bytes did not (``cp f x && mv x f``, a re-download, ``touch``) is
the same source (contract/sourcecheck.py ``source_change``, one rule for uptodate.py, publish.py,
append_rules.py, verify and provenance): the rerun is up to date, no note is printed, ``--overwrite``
commits nothing and a saved state still restores. It said "changed sources (... another size or time)"."""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings

import pytest
from hypothesis import given, settings, strategies as st

from cli_checks import fails
from datagen import DataGenerator
from datagen.contract.format import SourceEntry
from datagen.contract.manifest import read_manifest
from datagen.contract.sourcecheck import source_change


def _csv(path, rows):
    path.write_text("id,t,fare\n" + "".join(f"{i},2024-01-0{1 + i % 3} 10:00,{i * 1.5}\n" for i in range(rows)))


def _touch(src, how):
    st_ = os.stat(src)
    if how == "copied over":
        shutil.copyfile(src, src.with_name("x.csv"))
        os.replace(src.with_name("x.csv"), src)
    os.utime(src, ns=(st_.st_atime_ns, st_.st_mtime_ns + 7_000_000_000))   # surely another mtime


@pytest.mark.parametrize("how", ["touched", "copied over"])
def test_same_bytes_with_another_mtime_is_no_change(tmp_path, run_split, run_datagen, how):
    src, out = tmp_path / "src.csv", tmp_path / "ds"
    _csv(src, 300)
    args = [src, "--out", out, "--time-column", "t", "--group-by", "day"]
    assert run_split(*args).exit_code == 0
    gen = DataGenerator(str(out), ["fare"], batch_size=7, seed=1)
    state, before = gen.state(), (out / "manifest.json").read_bytes()
    _touch(src, how)
    r = run_split(*args)
    assert r.exit_code == 0 and r.output.startswith("up to date"), r.output
    for cmd in (["verify", out], ["provenance", out, "--batch", "0", "--features", "fare", "--batch-size", "3"]):
        r = run_datagen(*cmd)
        assert r.exit_code == 0 and "note:" not in r.stderr, r.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen.provenance(0)
    r = run_split(*args, "--overwrite")
    assert r.exit_code == 0 and "the overwrite would change nothing (version 1" in r.output, r.output
    assert (out / "manifest.json").read_bytes() == before and read_manifest(out).number == 1
    again = DataGenerator(str(out), ["fare"], batch_size=7, seed=1)
    again.restore(state)   # refused with "state is from dataset version 1, this generator reads version 2"
    r = run_split(src, "--out", out, "--append")
    assert r.exit_code == 0 and "already in the dataset" in r.output, r.output


def test_same_size_other_bytes_with_another_mtime_is_a_change(tmp_path, run_split, run_datagen):
    src, out = tmp_path / "src.csv", tmp_path / "ds"
    _csv(src, 300)
    args = [src, "--out", out, "--time-column", "t", "--group-by", "day"]
    assert run_split(*args).exit_code == 0
    before = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    size = os.stat(src).st_size
    src.write_text(src.read_text().replace("2,2024-01-03 10:00,3.0", "2,2024-01-03 10:00,4.0"))
    assert os.stat(src).st_size == size
    _touch(src, "touched")
    fails(run_split(*args), 1, "changed sources", "another sha256", "--overwrite")
    fails(run_split(src, "--out", out, "--append"), 1, "already in the dataset", "source 0")
    assert hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest() == before
    r = run_datagen("verify", out)
    assert r.exit_code == 0 and "note: source 0" in r.stderr, r.stderr


def _entry(size, mtime, sha):
    return SourceEntry(0, "/x.csv", "csv", size, mtime, None, sha, 1, 0)


@settings(deadline=None, max_examples=60)
@given(st.integers(0, 3), st.integers(0, 3), st.sampled_from(["t0", "t1", None]), st.sampled_from(["t0", "t1"]),
       st.sampled_from(["a", "b"]), st.sampled_from(["a", "b"]), st.booleans())
def test_source_change_against_a_reference(size, rec_size, rec_mtime, mtime, sha, rec_sha, known):
    """Changed iff another size or another sha256; the sha256 is computed only for the same size with
    another mtime, and trusted as the recorded one when size and mtime match (the stat-only fast path)."""
    calls = []

    def digest():
        calls.append(1)
        return sha

    got = source_change(_entry(rec_size, rec_mtime, rec_sha), size, mtime, sha if known else digest)
    if size != rec_size:
        want = "another size"
    elif not known and (rec_mtime is None or mtime == rec_mtime):
        want = None
    else:
        want = None if sha == rec_sha else "another sha256"
    assert got == want
    assert len(calls) == (1 if not known and size == rec_size and rec_mtime not in (None, mtime) else 0)
