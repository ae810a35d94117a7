"""Splitting a table without a time column (issue 12 item 2): ``--time-column`` is optional; group
parts must then be columns, shards hold their rows in (source file, source row) order, the
manifest has ``time_column: null`` and no time ranges, and the generator, provenance, show and
verify work as on any dataset. Options about the time given without one are usage errors."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from cli_checks import fails
from csv_cases import shard_hashes
from datagen import DataGenerator
from datagen.contract.errors import ManifestError
from datagen.contract.manifest import manifest_from_dict, read_manifest
from manifest_edit import as_written, load  # shards as entries, written back as the format's table


def _sources(d, n=600, seed=0):
    """Two inputs (a CSV and a Parquet file) with a carrier, a nullable int group column and features."""
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    frames = []
    for i, name in enumerate(("a.parquet", "b.parquet")):
        carrier = rng.choice(["AA", "BB", "CC"], n).tolist()
        code = pa.array(rng.integers(0, 3, n), pa.int64(), mask=rng.random(n) < 0.1)
        t = pa.table({"carrier": carrier, "code": code, "x": rng.normal(size=n), "y": rng.integers(0, 2, n)})
        pq.write_table(t, d / name, row_group_size=128)
        frames.append(t.to_pandas().assign(_source_id=i, _source_row=np.arange(n)))
    return pd.concat(frames, ignore_index=True)


def _digests(out):
    """(the shards' sha256 as the manifest lists them, as their bytes hash)"""
    return {s.path: s.sha256 for s in read_manifest(out).shards}, shard_hashes(out)


def test_split_without_time_column_groups_by_columns_in_source_order(tmp_path, run_split, run_datagen):
    ref = _sources(tmp_path / "in")
    out = tmp_path / "out"
    r = run_split(tmp_path / "in", "--out", out, "--group-by", "carrier,code", "--label", "y",
                  "--max-rows-per-shard", "90")
    assert r.exit_code == 0, r.stderr
    raw = load((out / "manifest.json"))
    assert raw["time_column"] is None and "missing_times" not in raw["totals"]
    assert raw["config"]["time_column"] is None and raw["config"]["on_bad_time"] is None
    assert all(s["time_min"] is None and s["time_max"] is None for s in raw["shards"])
    m = read_manifest(out)
    assert m.totals.rows_written == len(ref) and all("derived_from" not in g for g in raw["group_columns"])
    got = {}
    for s in m.shards:
        t = pq.read_table(out / s.path).to_pandas()
        key = (s.group["carrier"], s.group["code"])
        got.setdefault(key, []).append(t)
    assert (None in {k[1] for k in got})  # the null group of a plain column is kept
    for (carrier, code), parts in got.items():
        shard = pd.concat(parts, ignore_index=True)
        sel = ref[(ref.carrier == carrier) & (ref.code.isna() if code is None else ref.code == code)]
        lineage = list(zip(shard._source_id, shard._source_row))
        assert lineage == sorted(lineage) == list(zip(sel._source_id, sel._source_row))
        assert np.array_equal(shard.x.to_numpy(), sel.x.to_numpy())

    shown = run_datagen("show", out)
    assert shown.exit_code == 0 and "time      none (rows in source file and row order)" in shown.output
    assert " .. " not in shown.output
    as_json = json.loads(run_datagen("show", out, "--json").output)
    assert as_json["time_column"] is None and as_json["time_range"] is None
    for args in ((), ("--quick",)):
        v = run_datagen("verify", out, *args)
        assert v.exit_code == 0 and v.output.startswith("OK"), v.output

    gen = DataGenerator(out, features=["x"], label="y", batch_size=100, where="carrier == 'BB'", shuffle=True, seed=3)
    rows = sum(len(gen[i][1]) for i in range(len(gen)))
    assert rows == int((ref.carrier == "BB").sum())
    prov = gen.provenance(1)
    assert set(prov["carrier"]) == {"BB"}
    src = ref.set_index(["_source_id", "_source_row"])
    ids = {p: i for i, p in enumerate(s.path for s in m.sources)}
    for path, row, x in zip(prov["source"], prov["source_row"], gen[1][0][:, 0]):
        assert src.loc[(ids[path], row), "x"] == pytest.approx(x, rel=1e-6)
    cli = run_datagen("provenance", out, "--batch", "1", "--features", "x", "--label", "y", "--batch-size", "100",
                      "--shuffle", "--seed", "3", "--where", "carrier == 'BB'", "--format", "json")
    assert cli.exit_code == 0, cli.output


def test_calendar_part_without_time_column_is_a_usage_error(tmp_path, run_split):
    _sources(tmp_path / "in", n=20)
    err = fails(run_split(tmp_path / "in", "--out", tmp_path / "o", "--group-by", "carrier,month"), 2,
                "'month'", "--time-column")
    assert "carrier" in err
    assert not (tmp_path / "o").exists()
    # a calendar name that IS a column of the table is that column
    pq.write_table(pa.table({"month": [1, 2, 1], "v": [1.0, 2.0, 3.0]}), tmp_path / "m.parquet")
    r = run_split(tmp_path / "m.parquet", "--out", tmp_path / "o2", "--group-by", "month")
    assert r.exit_code == 0, r.stderr
    assert sorted(s.group["month"] for s in read_manifest(tmp_path / "o2").shards) == [1, 2]


@pytest.mark.parametrize("flag", [("--on-bad-time", "drop"), ("--time-unit", "s"), ("--timezone", "UTC"),
                                  ("--on-missing-time", "drop"), ("--on-bad-time", "error")])
def test_time_options_without_time_column_are_usage_errors(tmp_path, run_split, flag):
    _sources(tmp_path / "in", n=20)
    fails(run_split(tmp_path / "in", "--out", tmp_path / "o", "--group-by", "carrier", *flag), 2,
          flag[0], "without --time-column")
    assert not (tmp_path / "o").exists()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"group_by": "carrier", flag[0][2:].replace("-", "_"): flag[1]}))
    fails(run_split(tmp_path / "in", "--out", tmp_path / "o", "--config", cfg), 2, flag[0], "without --time-column")


def test_config_file_without_time_column(tmp_path, run_split):
    _sources(tmp_path / "in", n=50)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"inputs": [str(tmp_path / "in")], "out": str(tmp_path / "o"), "group_by": "code"}))
    r = run_split("--config", cfg)
    assert r.exit_code == 0, r.stderr
    assert read_manifest(tmp_path / "o").time_column is None
    again = run_split("--config", cfg)  # same options and sources: up to date
    assert again.exit_code == 0 and again.output.startswith("up to date"), again.output


def test_manifest_rules_for_a_dataset_without_time(tmp_path, run_split):
    _sources(tmp_path / "in", n=30)
    assert run_split(tmp_path / "in", "--out", tmp_path / "o", "--group-by", "carrier").exit_code == 0
    raw = load((tmp_path / "o" / "manifest.json"))
    manifest_from_dict(json.loads(json.dumps(raw)))
    bad = json.loads(json.dumps(raw))
    bad["shards"][0]["time_min"] = "2024-01-01T00:00:00+00:00"
    for form in (bad, as_written(bad)):  # entries, and the format-2 table they are written as
        with pytest.raises(ManifestError, match="time range, but there is no time_column"):
            manifest_from_dict(form)
    bad = json.loads(json.dumps(raw))
    bad["totals"]["missing_times"] = 0
    with pytest.raises(ManifestError, match="missing_times"):
        manifest_from_dict(bad)
    bad = json.loads(json.dumps(raw))
    bad["group_columns"][0]["derived_from"] = "t"
    with pytest.raises(ManifestError, match="derived_from"):
        manifest_from_dict(bad)


def test_no_time_shards_identical_across_schedulers_and_reruns(tmp_path, run_split, cluster):
    _sources(tmp_path / "in", n=3000, seed=7)
    csv_dir = tmp_path / "in"
    pacsv.write_csv(pq.read_table(csv_dir / "a.parquet"), csv_dir / "c.csv")
    args = ["--group-by", "carrier,code", "--max-rows-per-shard", "200", "--row-group-size", "1024"]
    assert run_split(csv_dir, "--out", tmp_path / "sync", *args, "--workers", "1").exit_code == 0
    r = run_split(csv_dir, "--out", tmp_path / "dist", *args, "--scheduler", cluster.scheduler_address)
    assert r.exit_code == 0, r.stderr
    assert run_split(csv_dir, "--out", tmp_path / "small", *args, "--memory-limit", "64MiB",
                     "--workers", "2").exit_code == 0
    listed, actual = _digests(tmp_path / "sync")
    assert listed == actual and len(listed) > 20
    for other in ("dist", "small"):
        assert _digests(tmp_path / other) == (listed, actual)
    assert run_split(csv_dir, "--out", tmp_path / "sync", *args, "--overwrite").exit_code == 0
    assert _digests(tmp_path / "sync") == (listed, actual)


group_values = st.one_of(st.sampled_from(["a", "b", "c", None]), st.integers(-2, 2), st.floats(-1, 1, width=16))


@st.composite
def tables(draw):
    ncols = draw(st.integers(1, 3))
    kinds = [draw(st.sampled_from(["str", "int", "float"])) for _ in range(ncols)]
    files = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 40))
        cols = {}
        for j, kind in enumerate(kinds):
            if kind == "str":
                vals = draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
                cols[f"g{j}"] = pa.array(vals, pa.string())
            elif kind == "int":
                vals = draw(st.lists(st.one_of(st.none(), st.integers(-2, 2)), min_size=n, max_size=n))
                cols[f"g{j}"] = pa.array(vals, pa.int64())
            else:
                vals = draw(st.lists(st.one_of(st.none(), st.sampled_from([0.5, -1.0, 2.25])), min_size=n, max_size=n))
                cols[f"g{j}"] = pa.array(vals, pa.float64())
        cols["v"] = pa.array(np.arange(n, dtype=np.float64))
        files.append(pa.table(cols))
    return files


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables(), st.booleans())
def test_property_shards_are_pandas_groups_in_source_order(tmp_path_factory, run_split, files, as_csv):
    d = tmp_path_factory.mktemp("prop")
    for i, t in enumerate(files):
        if as_csv:
            pacsv.write_csv(t, d / f"f{i}.csv")
        else:
            pq.write_table(t, d / f"f{i}.parquet")
    groups = [c for c in files[0].column_names if c.startswith("g")]
    out = d / "out"
    r = run_split(str(d / ("*.csv" if as_csv else "*.parquet")), "--out", out, "--group-by", ",".join(groups))
    assert r.exit_code == 0, r.stderr
    m = read_manifest(out)
    frames = []
    for i, t in enumerate(files):
        if as_csv:  # the reference: the CSV read with the split's types (an empty text cell is "", as pyarrow reads it)
            types = {g: pa.type_for_alias(m.group_types[g]) for g in groups}
            t = pacsv.read_csv(d / f"f{i}.csv", convert_options=pacsv.ConvertOptions(column_types=types))
        frames.append(t.to_pandas().assign(_source_id=i, _source_row=np.arange(t.num_rows)))
    ref = pd.concat(frames, ignore_index=True)
    expected = {}
    for key, sel in ref.groupby(groups, dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        norm = tuple(None if pd.isna(k) else k for k in key)
        expected[norm] = list(zip(sel._source_id, sel._source_row))
    got = {}
    for s in m.shards:
        assert s.time_min is None and s.time_max is None
        t = pq.read_table(out / s.path)
        key = tuple(s.group[g] for g in groups)
        got.setdefault(key, []).extend(zip(t.column("_source_id").to_pylist(), t.column("_source_row").to_pylist()))
    assert len(got) == len(expected)
    norm_got = {tuple(None if k is None else (float(k) if isinstance(k, (int, float)) else k) for k in key): v
                for key, v in got.items()}
    norm_exp = {tuple(None if k is None else (float(k) if isinstance(k, (int, float)) else k) for k in key): v
                for key, v in expected.items()}
    assert norm_got == norm_exp
