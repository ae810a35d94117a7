"""A CSV header with an empty column name: the hint names where the empty name sits (a leading
comma is the unnamed index column pandas' ``to_csv`` writes, ``Unnamed: 0`` when pandas reads it)."""

import pandas as pd
import pytest

from cli_checks import fails


def test_pandas_to_csv_index_column_is_named_as_such(tmp_path, run_split):
    src = tmp_path / "frame.csv"
    pd.DataFrame({"g": ["a", "b"], "v": [1, 2]}).to_csv(src)
    assert src.read_text().startswith(",g,v")
    line = fails(run_split(src, "--out", tmp_path / "o", "--group-by", "g"), 1,
                 "frame.csv", "column 1 has an empty name", "a leading comma", "pandas' to_csv", "index=False")
    assert "trailing" not in line
    pd.DataFrame({"g": ["a", "b"], "v": [1, 2]}).to_csv(src, index=False)
    assert run_split(src, "--out", tmp_path / "o", "--group-by", "g").exit_code == 0


@pytest.mark.parametrize("header, needles", [
    ("g,v,", ("column 3 has an empty name", "a trailing comma")),
    ("g,,v", ("column 2 has an empty name", "two commas in a row")),
    (" ,g,v", ("column 1 has a blank name (' ', white space only)",)),
    ("g,\t,v", ("column 2 has a blank name ('\\t', white space only)",)),
])
def test_other_empty_names_keep_their_hint(tmp_path, run_split, header, needles):
    src = tmp_path / "a.csv"
    src.write_text(f"{header}\na,1,2\n")
    line = fails(run_split(src, "--out", tmp_path / "o", "--group-by", "g"), 1, *needles)
    tail = line.split("a.csv'", 1)[1]
    assert "pandas" not in line and ("empty" not in tail) == ("blank" in tail)
