"""--append conforms a legitimate new day to the dataset (append_conform.py): column order never
matters; the time column is cast to the stored type where exact (another zone, a CSV day into a
Parquet dataset and back, ns without sub-us digits); an inexact one is refused before staging,
naming the column and both types."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

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
    return sorted(zip(t.astype("int64"), df["x"], df["k"]))


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
