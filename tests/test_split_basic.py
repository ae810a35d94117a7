"""split-datasets on Parquet and CSV: layout, lineage, readability by other engines."""

import gzip
import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from datagen.dataset import arrow_dataset
from datagen.contract.manifest import read_manifest
from gen_fixtures import stamps


def _source_rows(url, fmt):
    if fmt == "parquet":
        return pq.read_table(url).to_pandas()
    return pd.read_csv(url)


def _check_lineage(out, features=("f0", "f1", "f2", "f3"), sample=200):
    """Every checked shard row equals the source record its lineage columns name."""
    m = read_manifest(out)
    sources = {s.id: _source_rows(s.path, s.format) for s in m.sources}
    rng = np.random.default_rng(0)
    shards = rng.choice(len(m.shards), size=min(20, len(m.shards)), replace=False)
    checked = 0
    for i in shards:
        shard = pq.read_table(out / m.shards[i].path).to_pandas()
        for _, row in shard.head(sample // 20 + 1).iterrows():
            src = sources[int(row["_source_id"])].iloc[int(row["_source_row"])]
            assert int(src["id"]) == int(row["id"])
            for f in features:
                assert np.float32(src[f]) == np.float32(row[f])
            assert src["category"] == row["category"]
            checked += 1
    assert checked > 20


def test_parquet_split_layout_manifest_and_lineage(sample_parquet, run_split, tmp_path):
    out = tmp_path / "out"
    r = run_split(sample_parquet, "--out", out, "--time-column", "event_time", "--group-by", "month,day",
                  "--label", "label", "--workers", "2")
    assert r.exit_code == 0, r.output
    assert "12,000 rows" in r.output and "rows/s" in r.output
    m = read_manifest(out)
    assert m.totals.rows_read == m.totals.rows_written == 12_000
    assert sum(s.rows for s in m.shards) == 12_000
    # exactly one file per group, named as the group says
    assert len(m.shards) == m.totals.groups == len({(s.group["month"], s.group["day"]) for s in m.shards})
    for s in m.shards[:5]:
        # part names carry the first 16 hex digits of the shard's sha256 (see splitters/publish.py)
        assert s.path == f"month={s.group['month']:02d}/day={s.group['day']:02d}/part-00000-{s.sha256[:16]}.parquet"
        assert sum(s.label_counts.values()) == s.rows
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert files == sorted(s.path for s in m.shards)
    assert not list(out.glob(".datagen*")), "staging area and marker must be gone"
    # rows in a shard are ordered by time, then source order; the shard matches its group
    shard = pq.read_table(out / m.shards[10].path)
    t = shard.column("event_time").to_pandas()
    assert t.is_monotonic_increasing
    assert (t.dt.month == m.shards[10].group["month"]).all() and (t.dt.day == m.shards[10].group["day"]).all()
    assert pq.ParquetFile(out / m.shards[10].path).metadata.row_group(0).column(1).compression == "ZSTD"  # id
    # each source fingerprinted
    assert all(len(s.sha256) == 64 and s.rows_read == 4_000 for s in m.sources)
    _check_lineage(out)


def test_output_is_readable_by_pyarrow_duckdb_polars(sample_parquet, run_split, tmp_path):
    out = tmp_path / "out"
    assert run_split(sample_parquet, "--out", out, "--time-column", "event_time", "--group-by", "month,day").exit_code == 0
    t = ds.dataset(out, format="parquet", partitioning="hive", exclude_invalid_files=True).to_table()
    assert t.num_rows == 12_000 and pa.types.is_integer(t.schema.field("month").type)
    by_month = t.group_by("month").aggregate([("id", "count")]).to_pydict()
    assert sorted(by_month["month"]) == list(range(1, 13))
    t2 = arrow_dataset(out).to_table()
    assert t2.num_rows == 12_000 and {"month", "day"} <= set(t2.column_names)
    q = f"select count(*), count(distinct month), count(distinct (month, day)) from read_parquet('{out}/**/*.parquet', hive_partitioning=true)"
    assert duckdb.sql(q).fetchall()[0] == (12_000, 12, 366)
    typed = duckdb.sql(f"select max(month) from read_parquet('{out}/**/*.parquet', hive_partitioning=true, "
                       "hive_types={'month': INTEGER, 'day': INTEGER})").fetchall()[0][0]
    assert typed == 12
    assert pl.scan_parquet(f"{out}/**/*.parquet", hive_partitioning=True).select(pl.len()).collect().item() == 12_000


def test_csv_and_gzip_csv_inputs_with_lineage(tmp_path, run_split):
    from datagen.app.sample import sample_table

    src = tmp_path / "src"
    src.mkdir()
    for i in range(2):
        tab = sample_table(3_000, seed=i, features=4, start_id=i * 3_000)
        tab = tab.set_column(0, "event_time", pa.array(tab.column("event_time").to_pandas().dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
        pacsv.write_csv(tab, src / f"part{i}.csv")
    with open(src / "part1.csv", "rb") as fin, gzip.open(src / "part1.csv.gz", "wb") as fout:
        shutil.copyfileobj(fin, fout)
    (src / "part1.csv").unlink()
    out = tmp_path / "out"
    r = run_split(src, "--out", out, "--time-column", "event_time", "--group-by", "month")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert [s.format for s in m.sources] == ["csv", "csv"] and m.sources[1].path.endswith(".csv.gz")
    assert m.totals.rows_written == 6_000 and len(m.shards) == 12
    _check_lineage(out)


def test_fsspec_memory_url_input(tmp_path, run_split):
    import fsspec

    from datagen.app.sample import sample_table

    fs = fsspec.filesystem("memory")
    with fs.open("/bucket/events.parquet", "wb") as fh:
        pq.write_table(sample_table(2_000, seed=3, features=2), fh)
    out = tmp_path / "out"
    r = run_split("memory://bucket/*.parquet", "--out", out, "--time-column", "event_time", "--group-by", "month")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert m.sources[0].path.startswith("memory://") and m.sources[0].path.endswith("bucket/events.parquet")
    assert m.totals.rows_written == 2_000
    with fsspec.open(m.sources[0].path, "rb") as fh:  # the recorded URL reopens the source
        assert pq.read_metadata(fh).num_rows == 2_000


def test_max_rows_per_shard_cuts_numbered_parts(sample_parquet, run_split, tmp_path):
    out = tmp_path / "out"
    r = run_split(sample_parquet, "--out", out, "--time-column", "event_time", "--group-by", "month",
                  "--max-rows-per-shard", "300")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    jan = [s for s in m.shards if s.group["month"] == 1]
    assert len(jan) == -(-sum(s.rows for s in jan) // 300)
    assert [s.part for s in jan] == list(range(len(jan)))
    assert all(s.rows == 300 for s in jan[:-1]) and 0 < jan[-1].rows <= 300
    assert jan[1].path == f"month=01/part-00001-{jan[1].sha256[:16]}.parquet"
    times = pd.concat([pq.read_table(out / s.path).column("event_time").to_pandas() for s in jan])
    assert times.is_monotonic_increasing, "parts continue the time order"


def test_compact_downcasts_losslessly(tmp_path, run_split):
    n = 1_000
    t = pa.table({"t": stamps(n),
                  "small": pa.array(np.arange(n) % 100, type=pa.int64()),
                  "big": pa.array(np.arange(n) * 10**12, type=pa.int64()),
                  "x": pa.array(np.linspace(0, 1, n))})
    pq.write_table(t, tmp_path / "a.parquet")
    out = tmp_path / "out"
    assert run_split(tmp_path / "a.parquet", "--out", out, "--time-column", "t", "--group-by", "date", "--compact").exit_code == 0
    types = read_manifest(out).column_types
    assert types["small"] == "int8" and types["big"] == "int64" and types["x"] == "float"
    back = arrow_dataset(out).to_table().sort_by("_source_row")
    assert back.column("small").to_pylist() == list(np.arange(n) % 100)
    assert back.column("big").to_pylist() == list(np.arange(n) * 10**12)


def test_config_file_and_flags_win(sample_parquet, run_split, tmp_path):
    cfg = tmp_path / "split.yaml"
    cfg.write_text(f"inputs: ['{sample_parquet}']\ntime-column: event_time\ngroup_by: [month]\ncompression: snappy\n")
    out = tmp_path / "out"
    r = run_split("--config", cfg, "--out", out, "--compression", "lz4")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert m.config["compression"] == "lz4" and m.config["group_by"] == ["month"]
    assert json.loads((out / "manifest.json").read_text())["config"]["time_column"] == "event_time"


def test_codec_chosen_per_column_by_measurement(tmp_path, run_split):
    rng = np.random.default_rng(0)
    n = 20_000
    t = pa.table({"t": stamps(n, step_s=1),
                  "noise": pa.array(rng.random(n)),                      # incompressible
                  "steps": pa.array(np.repeat(np.arange(20), n // 20).astype("float64"))})  # very compressible
    pq.write_table(t, tmp_path / "a.parquet")
    assert run_split(tmp_path / "a.parquet", "--out", tmp_path / "o", "--time-column", "t", "--group-by", "date").exit_code == 0
    m = read_manifest(tmp_path / "o")
    assert m.codecs["noise"] == "none" and m.codecs["steps"] == "zstd" and m.codecs["t"] == "zstd"
    meta = pq.ParquetFile(tmp_path / "o" / m.shards[0].path).metadata.row_group(0)
    names = [meta.column(i).path_in_schema for i in range(meta.num_columns)]
    assert meta.column(names.index("noise")).compression == "UNCOMPRESSED"
    assert meta.column(names.index("steps")).compression == "ZSTD"
    assert run_split(tmp_path / "a.parquet", "--out", tmp_path / "o2", "--time-column", "t", "--group-by", "date",
                     "--min-compression-saving", "0").exit_code == 0
    assert set(read_manifest(tmp_path / "o2").codecs.values()) == {"zstd"}
