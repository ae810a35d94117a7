"""Struct, map and list columns ride along in shards: verify, the generator and a rerun accept them
(issue #10: the footer check looked up `_source_id` by Arrow field position, not Parquet leaf)."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from datagen import DataGenerator
from datagen.contract.verify import verify_dataset


def test_nested_columns_before_the_lineage_columns(tmp_path, run_split):
    src = tmp_path / "in" / "n.parquet"
    src.parent.mkdir()
    t = pa.array(pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC"))
    pq.write_table(pa.table({
        "t": t, "g": [1, 2, 1, 2],
        "st": pa.array([{"a": i, "b": str(i)} for i in range(4)]),
        "mp": pa.array([[("x", i), ("y", i)] for i in range(4)], pa.map_(pa.string(), pa.int64())),
        "ls": pa.array([[i, i + 1] for i in range(4)]),
        "x": [0.0, 1.0, 2.0, 3.0]}), src)
    out = tmp_path / "out"
    args = (src, "--out", out, "--time-column", "t", "--group-by", "g")
    r = run_split(*args)
    assert r.exit_code == 0, r.output
    report = verify_dataset(out)
    assert report.ok, report.problems
    gen = DataGenerator(out, features=["x"], batch_size=4)
    assert sorted(gen[0][0][:, 0].tolist()) == [0.0, 1.0, 2.0, 3.0]
    assert sorted(gen.provenance(0)["source_row"].tolist()) == [0, 1, 2, 3]
    again = run_split(*args)
    assert again.exit_code == 0 and "up to date" in again.output, again.output
