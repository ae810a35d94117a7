"""Input discovery: the same file given twice, through a symbolic link, a hard link or
as ``a/../a/x`` is read once (its first spelling is recorded); broken links and
unreadable entries are one-line errors naming the file."""

import json
import os

import numpy as np
import pytest

from datagen.contract.errors import SourceError
from splitters.sources import discover
from gen_fixtures import stamps, write_parquet


def _write(path, n=24):
    return write_parquet(path, {"t": stamps(n), "v": np.arange(n)})


@pytest.fixture
def spellings(tmp_path):
    real = _write(tmp_path / "a" / "x.parquet")
    os.symlink(real, tmp_path / "link.parquet")
    os.symlink(tmp_path / "a", tmp_path / "linkdir")
    os.link(real, tmp_path / "hard.parquet")
    return tmp_path, real


@pytest.mark.parametrize("given", [
    ["a/x.parquet", "a/x.parquet"],
    ["a/x.parquet", "link.parquet"],
    ["link.parquet", "a/x.parquet"],
    ["a/x.parquet", "a/../a/x.parquet"],
    ["a", "a/x.parquet", "linkdir", "linkdir/x.parquet", "hard.parquet", "a/*.parquet"],
])
def test_the_same_file_is_read_once(spellings, given, run_split, monkeypatch):
    root, real = spellings
    monkeypatch.chdir(root)
    sources = discover(given)
    assert len(sources) == 1
    assert sources[0].url == os.path.abspath(given[0] if given[0].endswith(".parquet") else real)
    r = run_split(*given, "--out", root / "out", "--time-column", "t", "--group-by", "day")
    assert r.exit_code == 0, r.stderr
    manifest = json.loads((root / "out" / "manifest.json").read_text())
    assert len(manifest["sources"]) == 1
    assert manifest["totals"]["rows_written"] == 24


def test_different_files_with_equal_content_are_both_read(tmp_path):
    _write(tmp_path / "a.parquet")
    _write(tmp_path / "b.parquet")
    assert len(discover([str(tmp_path)])) == 2


def test_broken_and_looping_links_name_the_file(tmp_path):
    _write(tmp_path / "d" / "ok.parquet")
    os.symlink(tmp_path / "gone.parquet", tmp_path / "d" / "dangling.parquet")
    with pytest.raises(SourceError, match="dangling.parquet.*broken symbolic link"):
        discover([str(tmp_path / "d")])
    with pytest.raises(SourceError, match="broken symbolic link"):
        discover([str(tmp_path / "d" / "dangling.parquet")])
    os.remove(tmp_path / "d" / "dangling.parquet")
    os.symlink("loop.parquet", tmp_path / "d" / "loop.parquet")
    with pytest.raises(SourceError, match="loop.parquet"):
        discover([str(tmp_path / "d")])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_names_the_file(tmp_path, run_split):
    p = _write(tmp_path / "secret.parquet")
    p.chmod(0)
    r = run_split(p, "--out", tmp_path / "o", "--time-column", "t")
    assert r.exit_code == 1 and "secret.parquet" in r.stderr and r.stderr.count("\n") == 1
