"""CSV numbers merged across files are cast exactly or refused, never rounded (issue #10)."""

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings, strategies as st

from cli_checks import fails

from datagen.contract.manifest import read_manifest


def test_csv_int_beyond_2_53_with_a_float_file_is_refused(tmp_path, run_split):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.csv").write_text("t,v\n2024-01-01T00:00:00Z,9007199254740993\n")
    (d / "b.csv").write_text("t,v\n2024-01-02T00:00:00Z,1.5\n")
    r = run_split(d / "a.csv", d / "b.csv", "--out", tmp_path / "o", "--time-column", "t", "--group-by", "day")
    assert r.exit_code == 1 and "a.csv" in r.output and "'v'" in r.output and "does not fit double" in r.output
    assert not (tmp_path / "o").exists()


def test_csv_ints_that_fit_merge_with_floats_exactly(tmp_path, run_split):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.csv").write_text("t,v\n2024-01-01T00:00:00Z,9007199254740992\n2024-01-01T01:00:00Z,-3\n")
    (d / "b.csv").write_text("t,v\n2024-01-02T00:00:00Z,1.5\n")
    out = tmp_path / "o"
    r = run_split(d / "a.csv", d / "b.csv", "--out", out, "--time-column", "t", "--group-by", "day")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert m.column_types["v"] == "double"
    values = sorted(v for s in m.shards for v in pq.read_table(out / s.path).column("v").to_pylist())
    assert values == [-3.0, 1.5, 9007199254740992.0]


def test_csv_epoch_ns_times_are_not_rounded_by_a_float_file(tmp_path, run_split):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.csv").write_text("t,v\n1700000000123456789,1\n1700000000123456791,2\n")
    (d / "b.csv").write_text("t,v\n1.7e18,3\n")
    out = tmp_path / "o"
    r = run_split(d / "a.csv", d / "b.csv", "--out", out, "--time-column", "t", "--time-unit", "ns",
                  "--group-by", "day")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    got = {}
    for s in m.shards:
        t = pq.read_table(out / s.path)
        for sid, row, ts in zip(t.column("_source_id").to_pylist(), t.column("_source_row").to_pylist(),
                                t.column("t").cast("int64").to_pylist()):
            got[(m.sources[sid].path.rsplit("/", 1)[-1], row)] = ts
    assert got[("a.csv", 0)] == 1700000000123456789 and got[("a.csv", 1)] == 1700000000123456791


def test_integer_beyond_int64_says_so_not_that_the_column_holds_non_integers(tmp_path, run_split):
    src = tmp_path / "big.csv"
    src.write_text("t,g,x\n2024-01-01T00:00:00Z,0,18446744073709551615\n2024-01-02T00:00:00Z,1,5\n")
    err = fails(run_split(src, "--out", tmp_path / "out", "--time-column", "t", "--group-by", "g"), 1,
                "big.csv", "'x'", "18446744073709551615", "beyond int64's range", "only up to 2**53")
    assert "non-integers" not in err


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(big=st.one_of(st.integers(2 ** 63, 2 ** 70), st.integers(-(2 ** 70), -(2 ** 63) - 1)),
       smaller=st.lists(st.integers(2 ** 53 + 1, 2 ** 63 - 1), max_size=2), at=st.integers(0, 2))
def test_append_of_an_integer_beyond_int64_names_it_as_written(tmp_path_factory, big, smaller, at):
    """Appending a CSV whose integer column (int64 in the dataset) holds a value beyond int64's range:
    Arrow reads that block as floats; the refusal names the value as written and the range, not a
    rounded float and a decimal point the file does not have. Nothing is appended."""
    from cli_checks import split_cli

    d = tmp_path_factory.mktemp("append-big")
    (d / "a.csv").write_text("t,v\n2024-01-01T00:00:00Z,1\n2024-01-02T00:00:00Z,2\n")
    assert split_cli(d / "a.csv", "--out", d / "ds", "--time-column", "t", "--group-by", "day").exit_code == 0
    before = (d / "ds" / "manifest.json").read_bytes()
    values = list(smaller)
    values.insert(min(at, len(values)), big)
    (d / "b.csv").write_text("t,v\n" + "".join(f"2024-01-03T0{i}:00:00Z,{v}\n" for i, v in enumerate(values)))
    err = fails(split_cli(d / "b.csv", "--out", d / "ds", "--time-column", "t", "--group-by", "day", "--append"), 1,
                "b.csv", "'v'", f"holds the integer {big}, beyond the range of int64")
    assert "decimal point" not in err
    assert (d / "ds" / "manifest.json").read_bytes() == before
