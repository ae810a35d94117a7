"""Provenance keeps its lineage fields when a group column has the same name (issue #10)."""

import pyarrow as pa
import pyarrow.parquet as pq

from datagen import DataGenerator


def test_group_column_named_like_a_lineage_field_does_not_hide_it(tmp_path, run_split):
    src = tmp_path / "in" / "s.parquet"
    src.parent.mkdir()
    t = pa.table({"ts": pa.array([0, 1, 2, 3], pa.timestamp("s", "UTC")), "source": ["a", "b", "a", "b"],
                  "shard": [1, 1, 2, 2], "x": [0.0, 1.0, 2.0, 3.0]})
    pq.write_table(t, src)
    out = tmp_path / "out"
    r = run_split(src, "--out", out, "--time-column", "ts", "--group-by", "source,shard")
    assert r.exit_code == 0, r.output
    prov = DataGenerator(out, features=["x"], batch_size=4).provenance(0)
    assert set(prov["source"]) == {str(src.resolve())}
    assert all(p.endswith(".parquet") for p in prov["shard"])
    by_row = prov.set_index("source_row")
    assert by_row["group.source"].to_dict() == {0: "a", 1: "b", 2: "a", 3: "b"}
    assert by_row["group.shard"].to_dict() == {0: 1, 1: 1, 2: 2, 3: 2}
