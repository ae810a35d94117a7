"""--append conforms a legitimate new day to the dataset (append_conform.py): column order never
matters; the time column is cast to the stored type where exact (another zone, a CSV day into a
Parquet dataset and back, ns without sub-us digits, a CSV day into a s or ms time column); an inexact one
is refused before staging, naming the column and both types (a CSV time with digits below the stored
unit: at staging, naming the file, row and time)."""

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_checks import fails
from datagen.contract.manifest import read_manifest
from datagen.contract.verify import verify_dataset

ARGS = ["--time-column", "ts", "--group-by", "day,g", "--label", "label"]


def frame(day0, n=60, seed=0, unit="us", tz=None, sub_us=False):
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2024-06-01") + pd.Timedelta(days=day0) + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    ts = pd.Series(ts).astype(f"datetime64[{unit}]")
    if sub_us:
        ts = ts + pd.to_timedelta(np.arange(n) % 7, "ns")
    if tz:
        ts = ts.dt.tz_localize("UTC").dt.tz_convert(tz)
    return pd.DataFrame({"ts": ts, "g": rng.choice(["a", "b"], n), "x": rng.normal(size=n),
                         "k": rng.integers(0, 100, n), "label": rng.integers(0, 2, n)})


def instants(out):
    m = read_manifest(out)
    frames = [pq.read_table(out / s.path).to_pandas(ignore_metadata=True) for s in m.shards]
    df = pd.concat(frames)
    t = df["ts"]
    t = t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t
    return sorted(zip(t.astype("datetime64[us]").astype("int64"), df["x"], df["k"]))


def expected(*frames):
    out = []
    for df in frames:
        t = df["ts"]
        t = t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t
        out += zip(t.astype("datetime64[us]").astype("int64"), df["x"], df["k"])
    return sorted(out)


def check(out, *frames):
    m = read_manifest(out)
    assert m.number == 2
    assert not verify_dataset(out).problems
    first = pq.read_schema(out / m.shards[0].path)
    for s in m.shards:
        assert pq.read_schema(out / s.path).remove_metadata() == first.remove_metadata(), s.path
    assert instants(out) == expected(*frames)


@pytest.mark.parametrize("case", ["reorder", "new_york", "ns_exact", "csv_into_parquet", "parquet_into_csv"])
def test_append_accepts_an_exactly_conformable_day(tmp_path, run_split, case):
    a, b = frame(0, seed=1), frame(5, seed=2)
    first = tmp_path / ("a.csv" if case == "parquet_into_csv" else "a.parquet")
    second = tmp_path / ("b.csv" if case == "csv_into_parquet" else "b.parquet")
    if case == "reorder":
        b = b[["label", "k", "x", "g", "ts"]]
    elif case == "new_york":
        b = frame(5, seed=2, tz="America/New_York")
    elif case == "ns_exact":
        b = frame(5, seed=2, unit="ns")
    for df, path in ((a, first), (b, second)):
        df.to_csv(path, index=False) if path.suffix == ".csv" else df.to_parquet(path)
    out = tmp_path / "ds"
    assert run_split(first, *ARGS, "--out", out).exit_code == 0
    r = run_split(second, "--out", out, "--append")
    assert r.exit_code == 0, r.output
    assert "appended (version 2)" in r.output
    check(out, a, b)


def test_append_refuses_sub_microsecond_times_before_staging(tmp_path, run_split, monkeypatch):
    frame(0, seed=1).to_parquet(tmp_path / "a.parquet")
    frame(5, seed=2, unit="ns", sub_us=True).to_parquet(tmp_path / "b.parquet")
    out = tmp_path / "ds"
    assert run_split(tmp_path / "a.parquet", *ARGS, "--out", out).exit_code == 0
    state = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    import splitters.append as append

    def no_staging(*a, **k):
        raise AssertionError("staged before the refusal")

    monkeypatch.setattr(append, "stage_unit", no_staging)
    r = run_split(tmp_path / "b.parquet", "--out", out, "--append")
    fails(r, 1, "column 'ts' is timestamp[ns] in the input but timestamp[us] in the dataset", "b.parquet")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == state


@settings(deadline=None, max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unit=st.sampled_from(["s", "ms"]), zone=st.sampled_from([None, "UTC", "Asia/Kolkata"]),
       below=st.lists(st.integers(0, 999), min_size=6, max_size=6), coarse=st.booleans())
def test_a_csv_day_into_a_second_or_millisecond_time_column(tmp_path_factory, run_split, unit, zone, below, coarse):
    """CSV times are parsed to microseconds; into a dataset storing s or ms they are stored exactly when
    they have no digits below that unit, else the first such time is refused by file, row and value
    (the reference: pandas' own floor to the unit)."""
    tmp = tmp_path_factory.mktemp("coarse")
    a = frame(0, n=6, seed=1, unit=unit)
    a["ts"] = a["ts"].dt.floor(unit)
    a.to_parquet(tmp / "a.parquet")
    b = frame(5, n=6, seed=2, unit="us")
    step = {"s": 1000, "ms": 1}[unit]
    b["ts"] = b["ts"].dt.floor(unit) + pd.to_timedelta(
        [0 if coarse else v * step for v in below], "us" if unit == "ms" else "ms")
    if zone:
        b["ts"] = b["ts"].dt.tz_localize("UTC").dt.tz_convert(zone)
    b.to_csv(tmp / "b.csv", index=False)
    out = tmp / "ds"
    assert run_split(tmp / "a.parquet", *ARGS, "--out", out).exit_code == 0
    r = run_split(tmp / "b.csv", "--out", out, "--append")
    utc = b["ts"].dt.tz_convert("UTC").dt.tz_localize(None) if zone else b["ts"]
    lossy = np.flatnonzero((utc != utc.dt.floor(unit)).to_numpy())
    if len(lossy) == 0:
        assert r.exit_code == 0, r.output
        m = read_manifest(out)
        assert {str(pq.read_schema(out / s.path).field("ts").type) for s in m.shards} == \
            {str(pq.read_schema(out / m.shards[0].path).field("ts").type)}   # the dataset's type throughout
        assert instants(out) == expected(a, b)
    else:
        fails(r, 1, "b.csv", f"row {lossy[0]}", "which the dataset's time column cannot keep")


def test_a_csv_day_into_a_float32_column(tmp_path, run_split):
    """A dataset split from float32 Parquet takes CSV days (text parsed to the nearest float32, as numpy reads
    it; a value beyond float32's range refused); a float64 Parquet day is still refused (a value change)."""
    import pyarrow as pa

    stamps = lambda start: pa.array((np.arange(3) + start) * 3_600 * 10**9, pa.timestamp("ns", "UTC"))  # noqa: E731
    pq.write_table(pa.table({"t": stamps(0), "f": pa.array([0.1, 0.2, 0.3], pa.float32())}), tmp_path / "a.parquet")
    out = tmp_path / "ds"
    assert run_split(tmp_path / "a.parquet", "--out", out, "--time-column", "t", "--group-by", "day").exit_code == 0
    texts = ["0.1", "2.5", "-3.4028234e38", "1e-40"]
    (tmp_path / "b.csv").write_text("t,f\n" + "".join(f"1970-01-04T0{i}:00:00Z,{v}\n" for i, v in enumerate(texts)))
    r = run_split(tmp_path / "b.csv", "--out", out, "--append")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    got = pq.read_table(out / m.shards[-1].path).column("f")
    assert str(got.type) == "float" and got.to_pylist() == [float(np.float32(float(v))) for v in texts]
    (tmp_path / "c.csv").write_text("t,f\n1970-01-05T00:00:00Z,1e39\n")
    fails(run_split(tmp_path / "c.csv", "--out", out, "--append"), 1, "column 'f'", "1e+39", "cannot hold")
    pq.write_table(pa.table({"t": stamps(100), "f": pa.array([0.1] * 3, pa.float64())}), tmp_path / "d.parquet")
    fails(run_split(tmp_path / "d.parquet", "--out", out, "--append"), 1, "column 'f' is double", "float")


@settings(deadline=None, max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)), min_size=1, max_size=6),
       zone=st.sampled_from([None, "America/New_York", "Asia/Tokyo"]), clock=st.booleans(), drop=st.booleans())
def test_a_csv_day_into_a_date_time_column(tmp_path_factory, run_split, days, zone, clock, drop):
    """A dataset whose time column is a date takes a CSV day of ISO dates, parsed by the split's own rules:
    each stored as itself and filed under its own day in any --timezone; a time of day is a bad time named
    by file and row (dropped with --on-bad-time drop), never truncated to a date."""
    tmp = tmp_path_factory.mktemp("dates")
    pd.DataFrame({"ts": [dt.date(2000, 1, 1)], "g": ["a"], "x": [0.0], "k": [0],
                  "label": [0]}).to_parquet(tmp / "a.parquet")
    text = [d.isoformat() for d in days] + (["2000-01-02T10:00:00"] if clock else [])
    pd.DataFrame({"ts": text, "g": "b", "x": 1.0, "k": range(len(text)), "label": 1}).to_csv(tmp / "b.csv", index=False)
    out = tmp / "ds"
    args = ("--timezone", zone) if zone else ()
    assert run_split(tmp / "a.parquet", *ARGS, *args, "--out", out, *(("--on-bad-time", "drop") if drop else ())).exit_code == 0
    r = run_split(tmp / "b.csv", "--out", out, "--append")
    if clock and not drop:
        fails(r, 1, "b.csv:row", str(len(days)), "with a time of day")
        return
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    stored = pd.concat([pq.read_table(out / s.path).to_pandas().assign(day=s.group["day"], g=s.group["g"]) for s in m.shards])
    new = stored[stored["g"] == "b"].sort_values("k")
    assert list(new["ts"]) == days and [int(d) for d in new["day"]] == [d.day for d in days]
    assert {str(pq.read_schema(out / s.path).field("ts").type) for s in m.shards} == {"date32[day]"}
