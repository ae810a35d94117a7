"""Missing times (issue 12 item 9): an empty, whitespace-only, NA-spelled or null cell of the time
column is a missing time, not a bad one. By default (``--on-missing-time group``) such rows get the
null group of every derived calendar part (hive default partition), a null time in the shard, and
sort after the timed rows of their shard (then by source file and row); ``totals.missing_times``
counts them. ``drop`` drops them (counted like bad times), ``error`` names the first file and row."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cli_checks import fails
from datagen.contract.errors import ManifestError
from datagen.contract.manifest import manifest_from_dict, read_manifest

NULL = "__HIVE_DEFAULT_PARTITION__"


def _flights(path, n=14_000, empty=(3_000, 11_500)):
    """A 14k-row CSV with a date column, two of whose cells are empty (the issue's example)."""
    rng = np.random.default_rng(1)
    dates = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h")
    text = dates.strftime("%Y-%m-%d %H:%M:%S").tolist()
    for i in empty:
        text[i] = ""
    pd.DataFrame({"date": text, "carrier": rng.choice(["AA", "UA", "DL"], n), "delay": rng.normal(size=n)}) \
        .to_csv(path, index=False)
    return text


def _rows(out, shard):
    return pq.read_table(out / shard.path).to_pandas()


def test_empty_dates_in_a_14k_row_csv_get_their_own_null_group(tmp_path, run_split, run_datagen):
    text = _flights(tmp_path / "flights.csv")
    out = tmp_path / "o"
    r = run_split(tmp_path / "flights.csv", "--out", out, "--time-column", "date", "--group-by", "month,day")
    assert r.exit_code == 0, r.stderr
    m = read_manifest(out)
    assert (m.totals.rows_written, m.totals.rows_dropped, m.totals.missing_times) == (14_000, 0, 2)
    null = [s for s in m.shards if s.group == {"month": None, "day": None}]
    assert len(null) == 1 and null[0].path.startswith(f"month={NULL}/day={NULL}/part-00000")
    assert (null[0].time_min, null[0].time_max, null[0].rows) == (None, None, 2)
    t = _rows(out, null[0])
    assert t["_source_row"].tolist() == [3_000, 11_500] and t["date"].isna().all()
    timed = [s for s in m.shards if s is not null[0]]
    assert all(s.time_min is not None and s.time_min <= s.time_max for s in timed)
    for s in timed[:5]:
        frame = _rows(out, s)
        assert (frame.date.dt.month == s.group["month"]).all() and (frame.date.dt.day == s.group["day"]).all()
    assert json.loads((out / "manifest.json").read_text())["totals"]["missing_times"] == 2
    shown = run_datagen("show", out)
    assert "2 without a time" in shown.output and "time      date: 2023-01-01" in shown.output
    assert run_datagen("verify", out).exit_code == 0
    # pyarrow's dataset reader sees the null group as nulls, as with any null group value
    import pyarrow.dataset as ds
    read = ds.dataset([str(out / s.path) for s in m.shards], format="parquet", partitioning="hive",
                      partition_base_dir=str(out)).to_table()
    assert read.num_rows == 14_000 and read.column("month").null_count == 2

    # the same rows, byte for byte, whatever the partitioning of the work
    other = tmp_path / "o2"
    assert run_split(tmp_path / "flights.csv", "--out", other, "--time-column", "date", "--group-by", "month,day",
                     "--memory-limit", "64MiB", "--workers", "2").exit_code == 0
    assert [s.sha256 for s in read_manifest(other).shards] == [s.sha256 for s in m.shards]

    drop = tmp_path / "drop"
    r = run_split(tmp_path / "flights.csv", "--out", drop, "--time-column", "date", "--group-by", "month,day",
                  "--on-missing-time", "drop")
    assert r.exit_code == 0, r.stderr
    d = read_manifest(drop)
    assert (d.totals.rows_written, d.totals.rows_dropped, d.totals.missing_times) == (13_998, 2, 2)
    assert d.sources[0].rows_dropped == 2 and all(None not in s.group.values() for s in d.shards)

    err = fails(run_split(tmp_path / "flights.csv", "--out", tmp_path / "e", "--time-column", "date",
                          "--on-missing-time", "error"), 1, "2 rows have no time", "'date'", "flights.csv:row 3000",
                "--on-missing-time group")
    assert "11500" not in err
    assert not (tmp_path / "e").exists()
    assert text[3_000] == ""


def test_blank_and_na_cells_are_missing_other_text_is_bad(tmp_path, run_split):
    times = ["2024-01-05T00:00:00Z", "", "   ", "NA", "null", "2024-02-01T00:00:00Z", "yesterday", "N/A"]
    pacsv.write_csv(pa.table({"t": times, "v": list(range(8))}), tmp_path / "t.csv")
    args = ("--time-column", "t", "--group-by", "month")
    err = fails(run_split(tmp_path / "t.csv", "--out", tmp_path / "o", *args), 1, "1 rows", "'yesterday'",
                "t.csv:row 6")
    assert "row 1" not in err
    r = run_split(tmp_path / "t.csv", "--out", tmp_path / "o", *args, "--on-bad-time", "drop")
    assert r.exit_code == 0, r.stderr
    m = read_manifest(tmp_path / "o")
    assert (m.totals.rows_dropped, m.totals.missing_times) == (1, 5)
    null = next(s for s in m.shards if s.group["month"] is None)
    assert _rows(tmp_path / "o", null)["_source_row"].tolist() == [1, 2, 3, 4, 7]


def test_parquet_null_timestamps_sort_last_within_a_plain_group(tmp_path, run_split):
    base = dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc)
    ts = [base + dt.timedelta(hours=5), None, base, None, base + dt.timedelta(days=40), base]
    pq.write_table(pa.table({"ts": pa.array(ts, pa.timestamp("us", "UTC")), "k": ["a"] * 6,
                             "v": np.arange(6.0)}), tmp_path / "p.parquet")
    out = tmp_path / "plain"
    assert run_split(tmp_path / "p.parquet", "--out", out, "--time-column", "ts", "--group-by", "k").exit_code == 0
    m = read_manifest(out)
    (shard,) = m.shards
    t = _rows(out, shard)
    assert t["_source_row"].tolist() == [2, 5, 0, 4, 1, 3]        # by time, ties in source order, then missing
    assert t["ts"].isna().tolist() == [False] * 4 + [True] * 2
    assert (shard.time_min, shard.time_max) == ("2024-03-01T12:00:00+00:00", "2024-04-10T12:00:00+00:00")
    assert m.totals.missing_times == 2

    tz = tmp_path / "tz"
    r = run_split(tmp_path / "p.parquet", "--out", tz, "--time-column", "ts", "--group-by", "year,weekday,date,k",
                  "--timezone", "Pacific/Kiritimati")
    assert r.exit_code == 0, r.stderr
    groups = {tuple(s.group.values()): s.rows for s in read_manifest(tz).shards}
    assert groups[(None, None, None, "a")] == 2
    assert groups[(2024, 5, "2024-03-02", "a")] == 3     # 12:00 and 17:00 UTC are the next day in UTC+14


def test_manifest_rule_missing_times_within_rows_read(tmp_path, run_split):
    _flights(tmp_path / "f.csv", n=50, empty=(3,))
    assert run_split(tmp_path / "f.csv", "--out", tmp_path / "o", "--time-column", "date").exit_code == 0
    raw = json.loads((tmp_path / "o" / "manifest.json").read_text())
    manifest_from_dict(json.loads(json.dumps(raw)))
    raw["totals"]["missing_times"] = 51
    with pytest.raises(ManifestError, match="missing_times 51 exceeds rows_read 50"):
        manifest_from_dict(raw)
    raw["totals"]["missing_times"] = -1
    with pytest.raises(ManifestError, match="missing_times"):
        manifest_from_dict(raw)


PARTS = ("year", "month", "day", "hour", "weekday", "date")


def _pandas_part(times: pd.Series, part: str) -> pd.Series:
    if part == "weekday":
        return times.dt.weekday.astype("Int64")
    if part == "date":
        return times.dt.strftime("%Y-%m-%d").where(times.notna(), None)
    return getattr(times.dt, part).astype("Int64")


time_cells = st.one_of(st.sampled_from(["", " ", "NA", None]),
                       st.datetimes(dt.datetime(2023, 12, 25), dt.datetime(2024, 1, 8)).map(
                           lambda d: d.replace(microsecond=0).isoformat()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(time_cells, min_size=1, max_size=30), min_size=1, max_size=3),
       st.lists(st.sampled_from(PARTS), min_size=1, max_size=2, unique=True), st.booleans())
def test_property_missing_times_are_pandas_dropna_false_groups(tmp_path_factory, run_split, files, parts, as_csv):
    d = tmp_path_factory.mktemp("miss")
    frames = []
    for i, cells in enumerate(files):
        t = pa.table({"t": pa.array(cells, pa.string()), "v": np.arange(len(cells), dtype=np.float64)})
        if as_csv:
            pacsv.write_csv(t, d / f"f{i}.csv")
        else:
            pq.write_table(t, d / f"f{i}.parquet")
        frames.append(pd.DataFrame({"t": cells, "_source_id": i, "_source_row": np.arange(len(cells))}))
    ref = pd.concat(frames, ignore_index=True)
    ref["time"] = pd.to_datetime(ref["t"].where(~ref["t"].isin(["", " ", "NA"])), utc=True, format="ISO8601")
    for p in parts:
        ref[p] = _pandas_part(ref["time"], p)
    out = d / "out"
    r = run_split(str(d / ("*.csv" if as_csv else "*.parquet")), "--out", out, "--time-column", "t",
                  "--group-by", ",".join(parts))
    assert r.exit_code == 0, r.stderr
    m = read_manifest(out)
    assert m.totals.missing_times == int(ref["time"].isna().sum())
    expected = {}
    for key, sel in ref.groupby(list(parts), dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        sel = sel.assign(missing=sel["time"].isna()).sort_values(["missing", "time", "_source_id", "_source_row"],
                                                                 kind="stable")
        expected[tuple(None if pd.isna(k) else k for k in key)] = list(zip(sel._source_id, sel._source_row))
    got = {}
    for s in m.shards:
        t = pq.read_table(out / s.path)
        got[tuple(s.group[p] for p in parts)] = list(zip(t.column("_source_id").to_pylist(),
                                                         t.column("_source_row").to_pylist()))
        if all(v is None for v in s.group.values()):
            assert s.time_min is None and t.column("t").null_count == t.num_rows
    assert got == expected


def test_all_empty_time_columns_and_epoch_numbers_with_blanks(tmp_path, run_split):
    # a Parquet time column of type null, and a CSV one with no value at all: every time is missing
    pq.write_table(pa.table({"t": pa.nulls(3), "v": [1, 2, 3]}), tmp_path / "n.parquet")
    (tmp_path / "e.csv").write_text("t,v\n,1\n,2\n")
    for src, rows in (("n.parquet", 3), ("e.csv", 2)):
        r = run_split(tmp_path / src, "--out", tmp_path / f"o-{src}", "--time-column", "t", "--group-by", "month")
        assert r.exit_code == 0, r.stderr
        m = read_manifest(tmp_path / f"o-{src}")
        assert [s.group for s in m.shards] == [{"month": None}] and m.totals.missing_times == rows
    # epoch numbers with blank cells, without --time-unit: the blanks do not hide the hint
    (tmp_path / "ep.csv").write_text("t,v\n1700000000,1\n,2\n1700000100,3\n")
    fails(run_split(tmp_path / "ep.csv", "--out", tmp_path / "o", "--time-column", "t"), 2, "--time-unit")
    r = run_split(tmp_path / "ep.csv", "--out", tmp_path / "o", "--time-column", "t", "--time-unit", "s",
                  "--group-by", "day")
    assert r.exit_code == 0, r.stderr
    assert sorted((s.group["day"] or 0, s.rows) for s in read_manifest(tmp_path / "o").shards) == [(0, 1), (14, 2)]


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(-62_135_596_800_000_000, 253_402_300_799_999_999), max_size=40), st.integers(0, 5),
       st.sampled_from(["us", "ns"]))
def test_property_time_range_of_ordered_ticks_is_the_searched_one(ticks, missing, res):
    """A shard's ticks are sorted, missing times last: the looked-up ends are the min and max of the
    rows that have a time (None, None when none has)."""
    from splitters.missing_times import MISSING_TIME, time_range

    ns = np.array(sorted(ticks) + [MISSING_TIME] * missing, dtype=np.int64)
    timed = ticks
    want = (None, None) if not timed else time_range(np.array([min(timed), max(timed)], np.int64), res)
    assert time_range(ns, res, ordered=True) == time_range(ns, res) == want
