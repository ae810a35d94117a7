"""``--append`` reads a new day with the dataset's types and never changes a value on the way (a
hostile tester's findings): hexadecimal text into an integer column was parsed by Arrow's integer
parser (0xFFFFFFFFFFFFFFFF became -1), a float beyond 2**53 into an integer column was rounded,
CSV decimals were refused, and a Polars day (decimal of another scale, large lists) could not be
appended to a pandas dataset although a split of both merges them."""

import decimal
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

from cli_checks import fails
from splitters.append_conform import stored_type

BASE = "ts,g,i,f\n2024-01-01T00:00:00Z,a,1,1.5\n2024-01-01T01:00:00Z,b,2,2.5\n"


def _rows(out):
    tables = [pq.read_table(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs if f.endswith(".parquet")]
    return sorted(pa.concat_tables(tables).drop_columns(["_source_id", "_source_row"]).to_pylist(),
                  key=lambda row: str(sorted(row.items(), key=str)))


@pytest.fixture
def csv_dataset(tmp_path, run_split):
    (tmp_path / "d1.csv").write_text(BASE)
    out = tmp_path / "ds"
    assert run_split(tmp_path / "d1.csv", "--out", out, "--time-column", "ts", "--group-by", "date").exit_code == 0
    return out


@pytest.mark.parametrize("value,needle", [
    ("0xFFFFFFFFFFFFFFFF", "'0xFFFFFFFFFFFFFFFF'"),   # Arrow's integer parser would store -1
    ("0x10", "'0x10'"),
    ("9007199254740993.0", "9007199254740992.0"),   # read as a float, it is no longer that integer
    ("1.0000001", "1.0000001"),
    ("abc", "'abc'"),
])
def test_a_value_an_integer_column_cannot_hold_exactly_is_refused_by_value(tmp_path, run_split, csv_dataset,
                                                                           value, needle):
    before = _rows(csv_dataset)
    day = tmp_path / "d2.csv"
    day.write_text(f"ts,g,i,f\n2024-01-02T00:00:00Z,a,{value},1.5\n")
    r = run_split(day, "--out", csv_dataset, "--append")
    fails(r, 1, "d2.csv", "'i'" if value != "abc" else "i", needle)
    assert _rows(csv_dataset) == before


def test_whole_numbers_and_leading_zeros_append_exactly(tmp_path, run_split, csv_dataset):
    day = tmp_path / "d2.csv"
    day.write_text("ts,g,i,f\n2024-01-02T00:00:00Z,a,5.0,8\n2024-01-02T01:00:00Z,a,007,-0.5\n")
    r = run_split(day, "--out", csv_dataset, "--append")
    assert r.exit_code == 0, r.output
    big = tmp_path / "d3.csv"   # integers only: read as integers, exact beyond 2**53
    big.write_text("ts,g,i,f\n2024-01-03T00:00:00Z,a,9007199254740993,1\n")
    r = run_split(big, "--out", csv_dataset, "--append")
    assert r.exit_code == 0, r.output
    assert sorted(row["i"] for row in _rows(csv_dataset)) == [1, 2, 5, 7, 9007199254740993]


def _parquet_dataset(tmp_path, run_split):
    pq.write_table(pa.table({"ts": ["2024-01-01T00:00:00Z"],
                             "dec": pa.array([decimal.Decimal("1.25")], pa.decimal128(5, 2)),
                             "tags": pa.array([["a"]], pa.list_(pa.string()))}), tmp_path / "pandas.parquet")
    out = tmp_path / "ds"
    r = run_split(tmp_path / "pandas.parquet", "--out", out, "--time-column", "ts", "--group-by", "date")
    assert r.exit_code == 0, r.output
    return out


def test_a_polars_day_appends_to_a_pandas_dataset_when_no_value_changes(tmp_path, run_split):
    out = _parquet_dataset(tmp_path, run_split)
    day = tmp_path / "polars.parquet"
    pq.write_table(pa.table({"ts": ["2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z"],
                             "dec": pa.array([decimal.Decimal("-3.500"), None], pa.decimal128(12, 3)),
                             "tags": pa.array([["b", "c"], None], pa.large_list(pa.large_string()))}), day)
    r = run_split(day, "--out", out, "--append")
    assert r.exit_code == 0, r.output
    rows = _rows(out)
    assert sorted((str(row["dec"]), str(row["tags"])) for row in rows) == \
        [("-3.50", "['b', 'c']"), ("1.25", "['a']"), ("None", "None")]
    schema = pq.read_schema(next(p for p in out.rglob("*.parquet")))
    assert str(schema.field("dec").type) == "decimal128(5, 2)"   # the dataset's type never changes


def test_a_decimal_the_dataset_cannot_hold_is_refused_naming_file_and_column(tmp_path, run_split):
    out = _parquet_dataset(tmp_path, run_split)
    day = tmp_path / "lossy.parquet"
    pq.write_table(pa.table({"ts": ["2024-01-02T00:00:00Z"],
                             "dec": pa.array([decimal.Decimal("1.255")], pa.decimal128(6, 3)),
                             "tags": pa.array([["b"]], pa.list_(pa.string()))}), day)
    fails(run_split(day, "--out", out, "--append"), 1, "lossy.parquet", "'dec'")


def test_csv_decimals_append_into_a_decimal_column(tmp_path, run_split):
    pq.write_table(pa.table({"ts": ["2024-01-01T00:00:00Z"],
                             "dec": pa.array([decimal.Decimal("1.25")], pa.decimal128(5, 2))}), tmp_path / "a.parquet")
    out = tmp_path / "ds"
    assert run_split(tmp_path / "a.parquet", "--out", out, "--time-column", "ts", "--group-by", "date").exit_code == 0
    (tmp_path / "d2.csv").write_text("ts,dec\n2024-01-02T00:00:00Z,1.250\n2024-01-02T01:00:00Z,-0.00\n")
    r = run_split(tmp_path / "d2.csv", "--out", out, "--append")
    assert r.exit_code == 0, r.output
    assert sorted(str(row["dec"]) for row in _rows(out)) == ["0.00", "1.25", "1.25"]
    (tmp_path / "d3.csv").write_text("ts,dec\n2024-01-03T00:00:00Z,1.255\n")
    fails(run_split(tmp_path / "d3.csv", "--out", out, "--append"), 1, "d3.csv", "column 'dec'", "data loss")


SCALARS = st.sampled_from([pa.int64(), pa.string(), pa.large_string(), pa.float64(), pa.timestamp("ms", "UTC")])
DECIMALS = st.builds(lambda p, s, wide: (pa.decimal256 if wide else pa.decimal128)(p, min(s, p)),
                     st.integers(1, 38), st.integers(0, 10), st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.recursive(SCALARS | DECIMALS, lambda inner: st.builds(
    lambda t, large, name: (pa.large_list if large else pa.list_)(pa.field(name, t)),
    inner, st.booleans(), st.sampled_from(["item", "element"])), max_leaves=3))
def test_manifest_type_names_read_back_as_their_types(t):
    assert stored_type(str(t)) == t


def test_csv_times_with_zero_digits_below_the_stored_unit_append_exactly(tmp_path, run_split):
    pq.write_table(pa.table({"ts": ["2024-01-01T00:00:00Z"],
                             "seen": pa.array([0], pa.timestamp("ms"))}), tmp_path / "a.parquet")
    out = tmp_path / "ds"
    assert run_split(tmp_path / "a.parquet", "--out", out, "--time-column", "ts", "--group-by", "date").exit_code == 0
    (tmp_path / "d2.csv").write_text("ts,seen\n2024-01-02T00:00:00Z,1970-01-01T00:00:00.001000\n")
    r = run_split(tmp_path / "d2.csv", "--out", out, "--append")
    assert r.exit_code == 0, r.output
    assert sorted(row["seen"].microsecond for row in _rows(out)) == [0, 1000]
    (tmp_path / "d3.csv").write_text("ts,seen\n2024-01-03T00:00:00Z,1970-01-01T00:00:00.0015\n")
    fails(run_split(tmp_path / "d3.csv", "--out", out, "--append"), 1, "d3.csv", "'seen'", "00:00:00.001500", "digits below the ms")
