"""Malformed CSV records are refused with one line naming the file and the data row, the same
whatever --blocksize: a quote never closed before the end of the file."""

import gzip

import pytest

from cli_checks import fails


@pytest.mark.parametrize("blocksize", ["256", "64MB"])
def test_quote_open_at_the_end_of_the_file_is_refused(tmp_path, run_split, blocksize):
    src = tmp_path / "unterm.csv"
    src.write_text("g,x\n" + "".join(f"{i % 2},{i}\n" for i in range(100)) + '1,"abc\n')
    out = tmp_path / "out"
    fails(run_split(src, "--out", out, "--group-by", "g", "--blocksize", blocksize), 1,
          "unterm.csv", "data row 100", "never closed")
    assert not out.exists()


def test_quote_open_at_the_end_of_a_compressed_file_is_refused(tmp_path, run_split):
    src = tmp_path / "unterm.csv.gz"
    src.write_bytes(gzip.compress(b'g,x\n0,1\n1,"abc\n'))
    fails(run_split(src, "--out", tmp_path / "out", "--group-by", "g"), 1, "unterm.csv.gz", "data row 1",
          "never closed")


def test_escaped_quotes_and_closed_multiline_values_are_fine(tmp_path, run_split):
    src = tmp_path / "ok.csv"
    src.write_text('g,x\n0,"a ""b"" c"\n1,"two\nlines"\n')
    r = run_split(src, "--out", tmp_path / "out", "--group-by", "g")
    assert r.exit_code == 0, r.output


def test_lines_of_only_spaces_are_skipped_as_pandas_does(tmp_path, run_split):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from datagen.contract.manifest import read_manifest

    src = tmp_path / "sp.csv"
    src.write_text("g,x\n0,1\n   \n1,2\n\t \n0,3\n")
    out = tmp_path / "out"
    r = run_split(src, "--out", out, "--group-by", "g", "--blocksize", "256")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    got = pa.concat_tables([pq.read_table(out / s.path) for s in m.shards]).to_pandas().sort_values("_source_row")
    want = pd.read_csv(src)
    assert got["x"].tolist() == want["x"].tolist() and got["_source_row"].tolist() == list(want.index)


@pytest.mark.parametrize("blocksize", ["256", "1000", "64MB"])
def test_short_row_names_file_and_data_row_at_any_blocksize(tmp_path, run_split, blocksize):
    src = tmp_path / "short.csv"
    rows = [f"{i % 2},{i}\n" for i in range(300)]
    rows[237] = "1\n"
    src.write_text("g,x\n" + "".join(rows[:10]) + '0,"two\nlines, quoted"\n   \n' + "".join(rows[10:]))
    fails(run_split(src, "--out", tmp_path / "out", "--group-by", "g", "--blocksize", blocksize), 1,
          "short.csv", "data row 238 ", "expected 2 fields", "got 1")
