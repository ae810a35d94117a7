"""Tables that already carry calendar columns (issue #12 item 1): a --group-by name that is a column
of the table means that column; a calendar part that is not a column is derived from --time-column.
The manifest's group_columns[].derived_from says which; rows stay ordered by time in each shard."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from datagen.contract.manifest import read_manifest


def test_existing_month_column_is_used_and_day_is_derived(tmp_path, run_split):
    times = pd.date_range("2024-01-30 12:00", periods=96, freq="h", tz="UTC")
    # a 'month' column that disagrees with the time on purpose: the table's own column must win
    month = [(m % 12) + 1 for m in range(96)]
    src = tmp_path / "in" / "flights.parquet"
    src.parent.mkdir()
    pq.write_table(pa.table({"time_hour": pa.array(times), "month": month, "x": list(range(96))}), src)
    out = tmp_path / "out"
    r = run_split(src, "--out", out, "--time-column", "time_hour", "--group-by", "month,day")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    cols = {g.name: g for g in m.group_columns}
    assert cols["month"].derived_from is None and cols["month"].type == "int64"
    assert cols["day"].derived_from == "time_hour"
    expected = pd.DataFrame({"x": range(96), "month": month, "day": times.day})
    got = []
    for s in m.shards:
        t = pq.read_table(out / s.path).to_pandas()
        assert list(t["time_hour"]) == sorted(t["time_hour"])  # ordered by time within the shard
        got += [(int(row), s.group["month"], s.group["day"]) for row in t["_source_row"]]
    got = pd.DataFrame(got, columns=["x", "month", "day"]).sort_values("x").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
