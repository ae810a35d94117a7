"""Time parsing (timestamps, ISO strings with offsets, epoch units, time zones),
every group-by kind, and hostile group values."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from datagen.dataset import arrow_dataset
from datagen.contract.manifest import read_manifest
from gen_fixtures import stamps


def _split(run_split, src, out, *extra):
    r = run_split(src, "--out", out, *extra)
    assert r.exit_code == 0, r.output + (r.stderr or "")
    return read_manifest(out)


def test_iso_strings_with_offsets_and_timezone(tmp_path, run_split):
    # 23:30 at +02:00 is 21:30 UTC the same day; 23:30Z is 00:30 next day in Paris (UTC+1 in March).
    times = ["2024-03-05T23:30:00+02:00", "2024-03-05T23:30:00Z", "2024-03-06T00:15:00.5-05:00", "2024-03-05 10:00:00"]
    pacsv.write_csv(pa.table({"ts": times, "v": [1, 2, 3, 4]}), tmp_path / "t.csv")
    utc = _split(run_split, tmp_path / "t.csv", tmp_path / "utc", "--time-column", "ts", "--group-by", "date,hour")
    got = {(s.group["date"], s.group["hour"]): s.rows for s in utc.shards}
    assert got == {("2024-03-05", 21): 1, ("2024-03-05", 23): 1, ("2024-03-06", 5): 1, ("2024-03-05", 10): 1}
    paris = _split(run_split, tmp_path / "t.csv", tmp_path / "paris", "--time-column", "ts", "--group-by", "date",
                   "--timezone", "Europe/Paris")
    assert {s.group["date"]: s.rows for s in paris.shards} == {"2024-03-05": 2, "2024-03-06": 2}
    t = arrow_dataset(tmp_path / "utc").to_table().sort_by("_source_row")
    assert t.column("ts").type == pa.timestamp("us", "UTC")   # text times are kept to the microsecond (years 1..9999)
    assert t.column("ts")[0].as_py() == dt.datetime(2024, 3, 5, 21, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("unit,scale", [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)])
def test_epoch_units(tmp_path, run_split, unit, scale):
    base = int(dt.datetime(2024, 7, 14, 12, tzinfo=dt.timezone.utc).timestamp())
    secs = np.array([base, base + 86_400, base + 2 * 86_400 + 3_600], dtype=np.int64)
    pq.write_table(pa.table({"when": secs * scale, "y": [0, 1, 0]}), tmp_path / "e.parquet")
    m = _split(run_split, tmp_path / "e.parquet", tmp_path / "out", "--time-column", "when", "--time-unit", unit,
               "--group-by", "month,day,hour")
    assert [(s.group["day"], s.group["hour"]) for s in m.shards] == [(14, 12), (15, 12), (16, 13)]
    assert m.shards[0].time_min.startswith("2024-07-14T12:00:00")


def test_epoch_float_seconds_in_csv(tmp_path, run_split):
    pacsv.write_csv(pa.table({"t": [1.7e9, 1.7e9 + 0.25], "v": [1, 2]}), tmp_path / "f.csv")
    m = _split(run_split, tmp_path / "f.csv", tmp_path / "out", "--time-column", "t", "--time-unit", "s",
               "--group-by", "year")
    assert m.shards[0].group == {"year": 2023} and m.shards[0].rows == 2


def test_every_derived_part_and_mixed_plain_column(tmp_path, run_split):
    ts = [dt.datetime(2023, 12, 31, 23, tzinfo=dt.timezone.utc), dt.datetime(2024, 1, 1, 0, tzinfo=dt.timezone.utc),
          dt.datetime(2024, 1, 1, 5, tzinfo=dt.timezone.utc), dt.datetime(2024, 2, 29, 5, tzinfo=dt.timezone.utc)]
    pq.write_table(pa.table({"ts": pa.array(ts, pa.timestamp("us", "UTC")), "carrier": ["AA", "BB", "AA", None],
                             "v": [1, 2, 3, 4]}), tmp_path / "g.parquet")
    m = _split(run_split, tmp_path / "g.parquet", tmp_path / "out", "--time-column", "ts",
               "--group-by", "year,month,day,hour,weekday,date,carrier")
    groups = [s.group for s in m.shards]
    assert {"year": 2023, "month": 12, "day": 31, "hour": 23, "weekday": 6, "date": "2023-12-31", "carrier": "AA"} in groups
    assert {"year": 2024, "month": 2, "day": 29, "hour": 5, "weekday": 3, "date": "2024-02-29", "carrier": None} in groups
    assert len(groups) == 4
    null_shard = next(s for s in m.shards if s.group["carrier"] is None)
    assert "carrier=__HIVE_DEFAULT_PARTITION__" in null_shard.path
    # the plain group column lives in the path, not in the file, so readers see no type clash
    assert "carrier" not in pq.read_schema(tmp_path / "out" / null_shard.path).names
    t = ds.dataset(tmp_path / "out", format="parquet", partitioning="hive", exclude_invalid_files=True).to_table()
    assert sorted(t.column("carrier").to_pylist(), key=str) == ["AA", "AA", "BB", None]
    assert t.schema.field("ts").type == pa.timestamp("us", "UTC")


def test_hostile_group_values_stay_inside_out_and_do_not_collide(tmp_path, run_split):
    hostile = ["../x", "a/b", "k=v", "with space", "ünïcødé", "", "..", ".", "a\\b", "%2F", "a%2Fb",
               "__HIVE_DEFAULT_PARTITION__", None, "C:", "\x00nul", "-rf"]
    n = len(hostile)
    t = pa.table({"ts": stamps(n, step_s=1), "tag": hostile,
                  "i": np.arange(n)})
    pq.write_table(t, tmp_path / "h.parquet")
    out = tmp_path / "sub" / "out"
    m = _split(run_split, tmp_path / "h.parquet", out, "--time-column", "ts", "--group-by", "tag")
    assert len(m.shards) == n, "every value its own group"
    assert len({s.path for s in m.shards}) == n
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".parquet" and p.parent != tmp_path)
    assert len(written) == n and all(out.resolve() in p.resolve().parents for p in written)
    for s in m.shards:  # each value comes back from its own file
        back = pq.read_table(out / s.path)
        assert back.num_rows == 1 and hostile[back.column("i")[0].as_py()] == s.group["tag"]
        assert s.path.count("/") == 1
    # pyarrow decodes the escaped directory names back to the original values
    t = ds.dataset(out, format="parquet", partitioning="hive", exclude_invalid_files=True).to_table()
    decoded = dict(zip(t.column("i").to_pylist(), t.column("tag").to_pylist()))
    for i, v in enumerate(hostile):
        if v not in ("__HIVE_DEFAULT_PARTITION__",):  # pyarrow reads that literal string as null
            assert decoded[i] == v, (i, v, decoded[i])


def test_rows_ordered_by_time_then_source_order(tmp_path, run_split):
    same = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    for name, ids in (("a.parquet", [3, 1, 2]), ("b.parquet", [6, 5, 4])):
        ts = [same, same - dt.timedelta(hours=1), same]
        pq.write_table(pa.table({"ts": pa.array(ts, pa.timestamp("ms", "UTC")), "id": ids}), tmp_path / name)
    m = _split(run_split, tmp_path / "*.parquet", tmp_path / "out", "--time-column", "ts", "--group-by", "month")
    t = pq.read_table(tmp_path / "out" / m.shards[0].path)
    assert t.column("id").to_pylist() == [1, 5, 3, 2, 6, 4]
