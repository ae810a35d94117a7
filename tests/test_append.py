"""split-datasets --append (issue 15 item 1): new rows as new part files of a new version,
settings and schema checked against the manifest, known sources skipped, lineage continued."""

import hashlib
import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_checks import fails as assert_one_line_error
from datagen.contract.manifest import read_manifest
from datagen.contract.verify import verify_dataset

ARGS = ["--time-column", "t", "--group-by", "month", "--label", "y"]
DAY = 24 * 3600 * 10**9


def day_file(path, day0, days, n, seed, x_type=pa.int64(), extra=None):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(day0 * DAY, (day0 + days) * DAY, n))
    cols = {"t": pa.array(t, pa.timestamp("ns", "UTC")), "x": pa.array(rng.integers(-50, 50, n), x_type),
            "f": pa.array(rng.normal(size=n)), "y": pa.array(rng.integers(0, 2, n))}
    cols.update(extra or {})
    pq.write_table(pa.table(cols), path)
    return path


def files_state(out):
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in out.rglob("*.parquet")}


def rows_of(out):
    """Every row of the current version with its lineage, as (source path, source row) -> values."""
    m = read_manifest(out)
    paths = {s.id: s.path for s in m.sources}
    frames = []
    for s in m.shards:
        df = pq.read_table(out / s.path).to_pandas()
        df["source"] = df["_source_id"].map(paths)
        frames.append(df)
    return pd.concat(frames).set_index(["source", "_source_row"]).sort_index()


def test_append_writes_new_parts_and_never_touches_committed_shards(tmp_path, run_split):
    a = day_file(tmp_path / "a.parquet", 0, 40, 500, 1)      # January and early February
    b = day_file(tmp_path / "b.parquet", 35, 30, 300, 2)     # February (existing dir) and March (new)
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    before = files_state(out)
    manifest_v1 = (out / "manifest.json").read_bytes()
    r = run_split(b, "--out", out, "--append")
    assert r.exit_code == 0, r.output
    assert "appended (version 2): 300 rows" in r.output
    after = files_state(out)
    assert {k: after[k] for k in before} == before          # same inode, same bytes: never rewritten
    m = read_manifest(out)
    assert m.version == 2 and m.version_record == "_versions/00000002.json"
    assert [s.path for s in m.shards[:len(before)]] == [s.path for s in json_shards(manifest_v1)]
    new = m.shards[len(before):]
    assert {s.path.split("/")[0] for s in new} == {"month=2", "month=3"} or \
        {s.path.split("/")[0] for s in new} == {"month=02", "month=03"}
    feb = [s for s in new if s.group["month"] == 2][0]
    assert feb.part == 1 and "/part-00001-" in feb.path      # continues the group's numbering
    mar = [s for s in new if s.group["month"] == 3][0]
    assert mar.part == 0
    assert [s.id for s in m.sources] == [0, 1] and m.sources[1].path == str(b)
    assert m.config["inputs"] == [str(a), str(b)]
    assert verify_dataset(out).ok
    # the dataset equals the union of the inputs, row for row, with lineage pointing at them
    got = rows_of(out)
    ref = pd.concat([pq.read_table(p).to_pandas().assign(source=str(p), _source_row=np.arange(n))
                     for p, n in ((a, 500), (b, 300))]).set_index(["source", "_source_row"]).sort_index()
    pd.testing.assert_frame_equal(got[["t", "x", "f", "y"]], ref[["t", "x", "f", "y"]], check_like=True)


def json_shards(raw):
    from datagen.contract.manifest import manifest_from_dict
    return manifest_from_dict(json.loads(raw)).shards


def test_append_of_a_known_file_adds_nothing_and_commits_nothing(tmp_path, run_split):
    a = day_file(tmp_path / "a.parquet", 0, 10, 100, 1)
    b = day_file(tmp_path / "b.parquet", 10, 10, 100, 2)
    copy = tmp_path / "copy-of-b.parquet"
    copy.write_bytes(b.read_bytes())
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    assert run_split(b, "--out", out, "--append").exit_code == 0
    state = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for again in ([b], [copy], [a, copy]):   # same content under another name is the same source
        r = run_split(*again, "--out", out, "--append")
        assert r.exit_code == 0, r.output
        assert "already in the dataset" in r.output and "no new version committed" in r.output
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == state
    # one new file among known ones: only it is appended
    c = day_file(tmp_path / "c.parquet", 20, 5, 50, 3)
    r = run_split(a, c, "--out", out, "--append")
    assert r.exit_code == 0 and f"skipped {a}" in r.output and "version 3): 50 rows" in r.output
    assert [s.path for s in read_manifest(out).sources] == [str(a), str(b), str(c)]


@pytest.mark.parametrize("flags, named", [
    (["--group-by", "day"], "--group-by"), (["--label", "x"], "--label"), (["--time-column", "x"], "--time-column"),
    (["--compression", "snappy"], "--compression"), (["--max-rows-per-shard", "10"], "--max-rows-per-shard"),
    (["--timezone", "Europe/Paris"], "--timezone"),
])
def test_append_refuses_other_settings_naming_the_option(tmp_path, run_split, flags, named):
    a = day_file(tmp_path / "a.parquet", 0, 10, 100, 1)
    b = day_file(tmp_path / "b.parquet", 10, 10, 100, 2)
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    state = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = run_split(b, "--out", out, "--append", *flags)
    assert_one_line_error(r, 2, named)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == state
    # the same settings given again are fine
    assert run_split(b, *ARGS, "--out", out, "--append").exit_code == 0


@pytest.mark.parametrize("case, named", [
    ("int->float", "never becomes float"), ("new column", "does not have"), ("missing column", "lacks column"),
    ("text for int", "'x'"),
])
def test_append_refuses_a_schema_the_shards_cannot_hold(tmp_path, run_split, case, named):
    a = day_file(tmp_path / "a.parquet", 0, 10, 100, 1)
    out = tmp_path / "ds"
    if case == "int->float":   # the dataset stores x as int64; the new day has fractions in it (whole floats fit)
        b = day_file(tmp_path / "b.parquet", 10, 10, 100, 2, x_type=pa.float64(),
                     extra={"x": pa.array(np.arange(100) + 0.5)})
    elif case == "new column":
        b = day_file(tmp_path / "b.parquet", 10, 10, 100, 2, extra={"z": pa.array(np.arange(100))})
    elif case == "missing column":
        b = tmp_path / "b.parquet"
        pq.write_table(pq.read_table(day_file(b, 10, 10, 100, 2)).drop_columns(["f"]), b)
    else:
        b = tmp_path / "b.parquet"
        t = pq.read_table(day_file(b, 10, 10, 100, 2))
        pq.write_table(t.set_column(1, "x", t.column("x").cast(pa.string())), b)
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    state = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = run_split(b, "--out", out, "--append")
    assert_one_line_error(r, 1, named)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == state


def test_append_casts_a_narrower_int_exactly_and_refuses_values_that_do_not_fit(tmp_path, run_split):
    a = day_file(tmp_path / "a.parquet", 0, 10, 100, 1, x_type=pa.int16())
    b = day_file(tmp_path / "b.parquet", 10, 10, 100, 2, x_type=pa.int8())     # fits int16: cast exactly
    big = day_file(tmp_path / "big.parquet", 20, 10, 100, 3, x_type=pa.int64(),
                   extra={"x": pa.array(np.full(100, 40_000), pa.int64())})   # beyond int16: refused
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    assert run_split(b, "--out", out, "--append").exit_code == 0
    assert pq.read_schema(out / read_manifest(out).shards[-1].path).field("x").type == pa.int16()
    got = rows_of(out).loc[str(b)].sort_index()
    assert got["x"].tolist() == pq.read_table(b).column("x").to_pylist()
    state = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = run_split(big, "--out", out, "--append")
    assert_one_line_error(r, 1, "'x'")
    assert "40000" in r.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == state


def test_append_needs_a_dataset_and_excludes_overwrite(tmp_path, run_split):
    b = day_file(tmp_path / "b.parquet", 10, 10, 100, 2)
    r = run_split(b, "--out", tmp_path / "nothing", "--append")
    assert_one_line_error(r, 1, "holds no dataset to append to")
    assert not (tmp_path / "nothing").exists()
    r = run_split(b, *ARGS, "--out", tmp_path / "x", "--append", "--overwrite")
    assert_one_line_error(r, 2, "--overwrite")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 90), st.integers(1, 40), st.integers(1, 60)), min_size=2, max_size=4),
       st.sampled_from([None, 7]))
def test_split_then_appends_equal_the_union_of_the_inputs(tmp_path_factory, days, max_rows):
    """Property: a split of the first file then one append per further file holds exactly the rows of all
    files (pandas reference), every source numbered in order, one version per commit, and verifies."""
    from click.testing import CliRunner
    from splitters.cli import main

    d = tmp_path_factory.mktemp("prop")
    files = [day_file(d / f"s{i}.parquet", d0, n_days, n, seed=i) for i, (d0, n_days, n) in enumerate(days)]
    out = d / "ds"
    extra = ["--max-rows-per-shard", str(max_rows)] if max_rows else []
    runner = CliRunner()
    r = runner.invoke(main, [str(files[0]), *ARGS, *extra, "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    for f in files[1:]:
        r = runner.invoke(main, [str(f), "--out", str(out), "--append", "--no-progress"])
        assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert m.version == len(files) and [s.path for s in m.sources] == [str(f) for f in files]
    got = rows_of(out)
    ref = pd.concat([pq.read_table(f).to_pandas().assign(source=str(f), _source_row=np.arange(n))
                     for f, (_, _, n) in zip(files, days)]).set_index(["source", "_source_row"]).sort_index()
    pd.testing.assert_frame_equal(got[["t", "x", "f", "y"]], ref[["t", "x", "f", "y"]], check_like=True)
    for s in m.shards:  # parts of a directory are numbered 0..k-1 without gaps or repeats
        assert os.path.basename(s.path).startswith(f"part-{s.part:05d}-")
    by_dir = {}
    for s in m.shards:
        by_dir.setdefault(os.path.dirname(s.path), []).append(s.part)
    assert all(sorted(p) == list(range(len(p))) for p in by_dir.values())
    assert verify_dataset(out).ok
