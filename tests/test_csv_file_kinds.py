"""A file named .csv that is really Parquet, a zip archive or UTF-16 text (splitters/filekinds.py) is refused
in one line saying what it is and the way out; it used to dump raw bytes and advise --encoding."""

from __future__ import annotations

import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_checks import fails
from datagen.dataset import arrow_dataset


def _parquet(path):
    pq.write_table(pa.table({"g": [1, 2], "v": [3, 4]}), path)


def _zip(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("inner.csv", "g,v\n1,2\n")


@pytest.mark.parametrize("make, words", [
    (_parquet, ["is a Parquet file", "rename it to end in .parquet"]),
    (_zip, ["is a zip archive", "unzip it"]),
    (lambda p: p.write_bytes("g,v\n1,2\n".encode("utf-16-le").join([b"\xff\xfe", b""])), ["UTF-16", "--encoding utf-16"]),
    (lambda p: p.write_bytes("g,v\n1,2\n".encode("utf-16")), ["UTF-16", "--encoding utf-16"]),
])
def test_other_file_kinds_named_csv_are_refused_by_what_they_are(tmp_path, run_split, make, words):
    make(tmp_path / "x.csv")
    fails(run_split(tmp_path / "x.csv", "--out", tmp_path / "o", "--group-by", "g"), 1, "x.csv", *words)
    assert not (tmp_path / "o").exists()


def test_utf16_with_its_encoding_splits(tmp_path, run_split):
    (tmp_path / "x.csv").write_bytes("g,v\n1,2\n3,4\n".encode("utf-16"))
    r = run_split(tmp_path / "x.csv", "--out", tmp_path / "o", "--group-by", "g", "--encoding", "utf-16")
    assert r.exit_code == 0, r.output
    assert sorted(arrow_dataset(str(tmp_path / "o")).to_table().column("v").to_pylist()) == [2, 4]


def test_a_failing_given_encoding_is_not_called_charmap_nor_advised_again(tmp_path, run_split):
    (tmp_path / "cp.csv").write_bytes(b"g,name\n" + b"".join(b"a,row%d\n" % i for i in range(3000)) + b"b,x\x81y\n")
    line = fails(run_split(tmp_path / "cp.csv", "--out", tmp_path / "o", "--group-by", "g", "--encoding", "cp1252"),
                 1, "cp.csv", "--encoding given", "the file's own encoding")
    assert "not charmap" not in line and "or cp1252 for" not in line, line
