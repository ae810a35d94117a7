"""CSV column types come from the whole input, not its first MiB: a column only widens
(null < bool | int64 < float64 | date | timestamp < string), values are parsed as the file holds
them and cast exactly, and the manifest records the final type (issue 12 item 3)."""

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_checks import fails
from csv_cases import split_rows
from splitters.unify import csv_join


def _rows(n, value):
    return "".join(f"2024-01-{1 + i % 3:02d}T00:00:00Z,{value(i)}\n" for i in range(n))


def test_a_float_after_the_first_mib_widens_the_int_column(tmp_path, run_split):
    src = tmp_path / "a.csv"
    n = 60_000                                # about 2 MiB: the 1.5 is far beyond the first MiB
    src.write_text("t,v\n" + _rows(n, lambda i: "1.5" if i == n - 2 else str(i)))
    got, m = split_rows(run_split, src, tmp_path / "out")
    assert m.column_types["v"] == "double"
    want = [1.5 if i == n - 2 else float(i) for i in range(n)]
    assert got["v"].tolist() == want and got["_source_row"].tolist() == list(range(n))


def test_text_late_in_an_int_column_keeps_the_files_text(tmp_path, run_split):
    src = tmp_path / "a.csv"
    src.write_text("t,v\n" + _rows(300, lambda i: "abc" if i == 250 else f"{i:03d}"))
    got, m = split_rows(run_split, src, tmp_path / "out", "--blocksize", "512")
    assert m.column_types["v"] == "string"
    assert got["v"].tolist() == ["abc" if i == 250 else f"{i:03d}" for i in range(300)]  # "007" stays "007"


def test_int_in_one_file_and_text_in_another_is_text(tmp_path, run_split):
    (tmp_path / "in").mkdir()
    a, b = tmp_path / "in" / "a.csv", tmp_path / "in" / "b.csv"
    a.write_text("t,v\n" + _rows(5, str))
    b.write_text("t,v\n" + _rows(5, lambda i: f"k{i}"))
    got, m = split_rows(run_split, [a, b], tmp_path / "out")
    assert m.column_types["v"] == "string"
    assert got["v"].tolist() == [str(i) for i in range(5)] + [f"k{i}" for i in range(5)]


def test_bool_then_int_is_text_and_empty_column_is_text(tmp_path, run_split):
    src = tmp_path / "a.csv"
    src.write_text("t,v,e\n" + "".join(f"2024-01-01T00:00:00Z,{'true' if i < 150 else i},\n" for i in range(300)))
    got, m = split_rows(run_split, src, tmp_path / "out", "--blocksize", "512")
    assert m.column_types["v"] == "string" and m.column_types["e"] == "string"
    assert got["v"].tolist() == ["true"] * 150 + [str(i) for i in range(150, 300)]


def test_big_int_and_a_float_in_one_file_is_refused_naming_column_and_value(tmp_path, run_split):
    src = tmp_path / "a.csv"
    src.write_text("t,v\n" + _rows(200, lambda i: "9007199254740993" if i == 3 else "2.5" if i == 190 else str(i)))
    fails(run_split(src, "--out", tmp_path / "out", "--time-column", "t", "--blocksize", "512"), 1,
          "a.csv", "'v'", "9007199254740993", "does not fit double")
    assert not (tmp_path / "out").exists()


def test_join_is_a_widening_lattice():
    i, f, s, b, n = pa.int64(), pa.float64(), pa.string(), pa.bool_(), pa.null()
    assert csv_join([n, i]) == i and csv_join([i, f]) == f and csv_join([f, i, n]) == f
    assert csv_join([i, b]) == s and csv_join([f, s]) == s and csv_join([pa.date32(), pa.time32("s")]) == s
    assert csv_join([pa.date32(), pa.timestamp("s")]) == pa.timestamp("s")
    assert csv_join([pa.date32(), pa.timestamp("s", "UTC")]) == s
    assert csv_join([pa.timestamp("s", "UTC"), pa.timestamp("ns", "UTC")]) == pa.timestamp("ns", "UTC")
    assert csv_join([n]) == n and csv_join([b, n, b]) == b


TOKENS = st.sampled_from(["0", "17", "-3", "2.5", "1e3", "abc", "", "true"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(TOKENS, TOKENS), min_size=1, max_size=60), st.integers(256, 2000))
def test_column_kind_and_values_match_pandas(tmp_path_factory, run_split, rows, blocksize):
    tmp = tmp_path_factory.mktemp("types")
    src = tmp / "a.csv"
    src.write_text("t,a,b\n" + "".join(f"2024-01-01T00:00:{i % 60:02d}Z,{x},{y}\n" for i, (x, y) in enumerate(rows)))
    got, m = split_rows(run_split, src, tmp / "out", "--blocksize", str(blocksize))
    want = pd.read_csv(src, keep_default_na=False, na_values=[""], dtype={"a": object, "b": object})
    for c in ("a", "b"):
        present = [v for v in want[c] if isinstance(v, str)]
        kind = m.column_types[c]
        if all(v in ("true",) for v in present) and present:
            assert kind == "bool"
        elif not present:
            assert kind == "string" and set(got[c]) == {""}
        elif all(v.lstrip("-").isdigit() for v in present):
            assert kind == "int64"
            assert got[c].dropna().astype(int).tolist() == [int(v) for v in present]
        elif all(_is_float(v) for v in present):
            assert kind == "double"
            assert got[c].dropna().tolist() == [float(v) for v in present]
        else:                                 # any text: every value exactly as the file holds it
            assert kind == "string"
            assert got[c].tolist() == [v if isinstance(v, str) else "" for v in want[c]]


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False
