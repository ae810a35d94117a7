"""Decimals, lists and structs written differently by different writers merge into one schema (issue:
the same table written by pandas and by Polars could not be split together): the type rule against
a stated reference, and real splits of pandas- and Polars-written files whose every value arrives
intact (compared with pandas reading the sources)."""

import decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings, strategies as st

from manifest_edit import load  # shards as entries, written back as the format's table
from splitters.unify import unify_all

DECIMALS = st.builds(lambda p, s: (p, min(s, p)), st.integers(1, 45), st.integers(0, 20))


def _decimal_type(p: int, s: int) -> pa.DataType:
    return pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s)


@settings(max_examples=200, deadline=None)
@given(st.lists(DECIMALS, min_size=1, max_size=5))
def test_decimals_merge_into_the_smallest_decimal_holding_every_value(specs):
    types = [_decimal_type(p, s) for p, s in specs]
    merged = unify_all(types)
    scale = max(s for _, s in specs)
    whole = max(p - s for p, s in specs)
    if whole + scale > 76:
        assert merged is None
        return
    assert merged.scale == scale and merged.precision == whole + scale
    assert unify_all(list(reversed(types))) == merged
    for p, s in specs:  # the extreme values of every type survive the cast exactly
        biggest = decimal.Decimal(10 ** p - 1).scaleb(-s, decimal.Context(prec=100))
        arr = pa.array([biggest, biggest.copy_negate(), decimal.Decimal(0)], _decimal_type(p, s))
        assert arr.cast(merged).to_pylist() == arr.to_pylist()


def test_lists_and_structs_merge_element_by_element_and_refuse_what_does_not():
    assert unify_all([pa.list_(pa.string()), pa.large_list(pa.large_string())]) == pa.large_list(pa.large_string())
    assert unify_all([pa.list_(pa.int32()), pa.list_(pa.int64())]) == pa.list_(pa.int64())
    assert unify_all([pa.struct([("a", pa.int32()), ("b", pa.string())]),
                      pa.struct([("a", pa.int64()), ("b", pa.large_string())])]) == \
        pa.struct([("a", pa.int64()), ("b", pa.large_string())])
    assert unify_all([pa.struct([("a", pa.int32())]), pa.struct([("b", pa.int32())])]) is None
    assert unify_all([pa.list_(pa.string()), pa.list_(pa.int64())]) is None
    assert unify_all([pa.list_(pa.string()), pa.string()]) is None


def test_pandas_and_polars_files_of_one_table_split_together_with_every_value_intact(tmp_path, run_split):
    src = tmp_path / "src"
    src.mkdir()
    a = pd.DataFrame({"t": pd.to_datetime(["2024-01-01T01:00:00Z", "2024-01-02T02:00:00Z"]),
                      "amount": [decimal.Decimal("1.25"), decimal.Decimal("-3.50")],
                      "tags": [["x", "y"], []], "id": [1, 2]})
    a.to_parquet(src / "a.parquet")  # pandas: decimal128 with the precision its values need, list<string>
    b = pl.DataFrame({"t": pd.to_datetime(["2024-01-01T03:00:00Z", "2024-01-03T04:00:00Z"]),
                      "amount": [decimal.Decimal("123456789.10"), None], "tags": [["z"], None], "id": [3, 4]},
                     schema_overrides={"amount": pl.Decimal(12, 2)})
    b.write_parquet(src / "b.parquet")  # Polars: decimal128(12, 2), large_list<large_string>
    assert pq.read_schema(src / "a.parquet").field("amount").type != pq.read_schema(src / "b.parquet").field("amount").type
    r = run_split(src / "a.parquet", src / "b.parquet", "--out", tmp_path / "o", "--time-column", "t",
                  "--group-by", "day")
    assert r.exit_code == 0, r.output
    manifest = load(tmp_path / "o" / "manifest.json")
    types = {c["name"]: c["type"] for c in manifest["schema"]}
    assert types["amount"] == "decimal128(12, 2)" and types["tags"].startswith("large_list<") and types["tags"].endswith(": large_string>")
    got = pd.concat([pq.read_table(tmp_path / "o" / s["path"]).to_pandas() for s in manifest["shards"]])
    got = got.sort_values("id").reset_index(drop=True)
    want = pd.concat([pd.read_parquet(src / "a.parquet"), pd.read_parquet(src / "b.parquet")]).reset_index(drop=True)
    assert got["amount"].tolist() == want["amount"].tolist()
    assert [None if v is None else list(v) for v in got["tags"]] == [None if v is None else list(v) for v in want["tags"]]
