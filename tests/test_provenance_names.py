"""Provenance keeps its lineage fields (and its index's name) when a group column has the same name (issue #10)."""

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hypothesis import HealthCheck, given, settings, strategies as st

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


_OWN_NAMES = ["shard", "shard_row", "source_id", "source", "source_row", "example", "group.example", "group.source"]


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_OWN_NAMES + ["g"]), min_size=1, max_size=3, unique=True))
def test_group_columns_named_like_any_name_of_the_frame_keep_it_whole(tmp_path_factory, run_split, run_datagen,
                                                                      names):
    """A group column named ``example`` (the index's name) gave "cannot insert example, already exists" from
    ``reset_index()`` and the CLI's JSON, and two ``example`` columns in its CSV: every name the table uses
    itself is renamed ``group.<name>``, as the lineage fields were."""
    tmp = tmp_path_factory.mktemp("names")
    n = 12
    pq.write_table(pa.table({**{c: [(i + k) % 2 for i in range(n)] for k, c in enumerate(names)},
                             "v": [float(i) for i in range(n)]}), tmp / "s.parquet")
    r = run_split(tmp / "s.parquet", "--out", tmp / "ds", "--group-by", ",".join(names))
    assert r.exit_code == 0, r.output
    prov = DataGenerator(str(tmp / "ds"), features=["v"], batch_size=n, shuffle=False).provenance(0)
    flat = prov.reset_index()
    want = {c: (f"group.{c}" if c in _OWN_NAMES else c) for c in names}
    assert list(flat.columns) == ["example", "shard", "shard_row", "source_id", "source", "source_row",
                                  *[want[c] for c in names]]
    for k, c in enumerate(names):   # each group value is the source row's own
        assert (flat[want[c]] == (flat["source_row"] + k) % 2).all()
    for fmt in ("json", "csv"):
        r = run_datagen("provenance", tmp / "ds", "--features", "v", "--batch-size", str(n), "--no-shuffle",
                        "--batch", "0", "--format", fmt)
        assert r.exit_code == 0, r.output
        got = pd.read_json(io.StringIO(r.output)) if fmt == "json" else pd.read_csv(io.StringIO(r.output))
        assert list(got.columns) == list(flat.columns)
        assert got["source_row"].tolist() == flat["source_row"].tolist()
