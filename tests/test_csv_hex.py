"""Hexadecimal text in a CSV stays text with its exact characters, as pandas keeps it (Arrow's
parser alone would read 0x1F as 31 and wrap 0xFFFFFFFFFFFFFFFF to -1), whatever --blocksize."""

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_checks import fails
from csv_cases import split_rows


def test_hex_columns_are_text_with_exact_characters(tmp_path, run_split):
    src = tmp_path / "hex.csv"
    src.write_text("t,g,x,id\n2024-01-01T00:00:00Z,0,0x1F,0xFFFFFFFFFFFFFFFF\n"
                   "2024-01-02T00:00:00Z,1,0x20,0x7FFFFFFFFFFFFFFF\n")
    got, m = split_rows(run_split, src, tmp_path / "out", group_by="x")
    assert m.column_types["id"] == "string" and m.column_types["g"] == "int64"
    assert got["id"].tolist() == ["0xFFFFFFFFFFFFFFFF", "0x7FFFFFFFFFFFFFFF"]
    assert sorted(s.group["x"] for s in m.shards) == ["0x1F", "0x20"]


def test_hex_epoch_times_are_bad_times_not_seconds(tmp_path, run_split):
    src = tmp_path / "t.csv"
    src.write_text("t,g\n0x10,0\n")
    fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--time-unit", "s", "--group-by", "g"),
          1, "cannot be parsed", "'0x10'")


TOKENS = st.sampled_from(["0", "17", "-3", "0x1F", "0XfF", "0xFFFFFFFFFFFFFFFF", "abc", "0x", "2.5"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(TOKENS, TOKENS), min_size=1, max_size=60), st.sampled_from([256, 700, 64 << 20]))
def test_text_ness_matches_pandas(tmp_path_factory, run_split, rows, blocksize):
    tmp = tmp_path_factory.mktemp("hex")
    src = tmp / "a.csv"
    src.write_text("t,a,b\n" + "".join(f"2024-01-01T00:00:{i % 60:02d}Z,{x},{y}\n" for i, (x, y) in enumerate(rows)))
    got, m = split_rows(run_split, src, tmp / "out", "--blocksize", str(blocksize))
    want = pd.read_csv(src)
    for c in ("a", "b"):
        is_text = not pd.api.types.is_numeric_dtype(want[c])
        assert (m.column_types[c] == "string") == is_text, (c, m.column_types[c], want[c].dtype)
        if is_text:
            assert got[c].tolist() == pd.read_csv(src, dtype=str)[c].tolist()
