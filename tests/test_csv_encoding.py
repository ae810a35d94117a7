"""CSV files in another text encoding (issue #12 item 5): refused naming the file, column and the way
out, and read exactly with --encoding."""

import pyarrow.parquet as pq

from cli_checks import fails
from datagen.contract.manifest import read_manifest

ROWS = "t,g,v\n2024-01-01T00:00:00Z,café,1\n2024-01-02T00:00:00Z,naïve,2\n2024-01-03T00:00:00Z,café,3\n"


def test_latin1_csv_is_refused_then_read_with_encoding(tmp_path, run_split):
    src = tmp_path / "in" / "a.csv"
    src.parent.mkdir()
    src.write_bytes(ROWS.encode("latin-1"))
    out = tmp_path / "out"
    fails(run_split(src, "--out", out, "--time-column", "t", "--group-by", "g"), 1,
          "a.csv", "column 'g' is not UTF-8 text", "--encoding latin-1")
    assert not out.exists()
    r = run_split(src, "--out", out, "--time-column", "t", "--group-by", "g", "--encoding", "latin-1")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert m.config["encoding"] == "latin-1"
    rows = {}
    for s in m.shards:
        for row in pq.read_table(out / s.path).column("_source_row").to_pylist():
            rows[row] = s.group["g"]
    assert rows == {0: "café", 1: "naïve", 2: "café"}


def test_unknown_encoding_is_a_usage_error(tmp_path, run_split):
    src = tmp_path / "a.csv"
    src.write_text(ROWS)
    fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--encoding", "klingon"), 2,
          "unknown text encoding 'klingon'")


def test_codec_that_is_not_a_text_encoding_is_a_usage_error(tmp_path, run_split):
    src = tmp_path / "a.csv"
    src.write_text(ROWS)
    for name in ("rot13", "base64"):
        fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--group-by", "g", "--encoding", name),
              2, f"{name!r} is not a text encoding")
