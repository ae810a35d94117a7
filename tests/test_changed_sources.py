"""A source file that changed after the split (contract/sourcecheck.py, append_rules.refuse_changed_paths):
provenance and verify say its row numbers name rows of the file as it was; --append of the changed file
at the same path is refused (its unchanged rows would be stored twice); --encoding is each append's own."""

from __future__ import annotations

import hashlib
import os
import warnings

import pandas as pd

import pytest

from cli_checks import fails
from datagen import DataGenerator
from datagen.dataset import arrow_dataset


def _csv(path, rows, start=0):
    path.write_text("id,t,fare\n" + "".join(f"{i},2024-01-0{1 + i % 3} 10:00,{i * 1.5}\n"
                                            for i in range(start, start + rows)))


@pytest.fixture
def split_csv(tmp_path, run_split):
    src, out = tmp_path / "src.csv", tmp_path / "ds"
    _csv(src, 300)
    r = run_split(src, "--out", out, "--time-column", "t", "--group-by", "day")
    assert r.exit_code == 0, r.output
    return src, out


def _provenance(run_datagen, out):
    return run_datagen("provenance", out, "--batch", "0", "--features", "fare", "--batch-size", "3", "--format", "csv")


def test_unchanged_sources_give_no_note(split_csv, run_datagen):
    src, out = split_csv
    r = _provenance(run_datagen, out)
    assert r.exit_code == 0 and "note:" not in r.stderr, r.stderr
    v = run_datagen("verify", out)
    assert v.exit_code == 0 and "note:" not in v.stderr, v.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataGenerator(str(out), ["fare"], batch_size=3).provenance(0)


@pytest.mark.parametrize("change", ["row inserted", "same size, other bytes, later mtime", "deleted"])
def test_provenance_and_verify_name_a_changed_source(split_csv, run_datagen, change):
    src, out = split_csv
    if change == "row inserted":
        lines = src.read_text().splitlines(keepends=True)
        src.write_text(lines[0] + "999,2024-01-01 09:00,0.0\n" + "".join(lines[1:]))
    elif change == "same size, other bytes, later mtime":   # the same bytes again is no change: test_touched_sources
        st = os.stat(src)
        src.write_text(src.read_text().replace("1,2024-01-02 10:00,1.5", "1,2024-01-02 10:00,1.6"))
        assert os.stat(src).st_size == st.st_size
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    else:
        src.unlink()
    r = _provenance(run_datagen, out)
    assert r.exit_code == 0, r.stderr
    note = r.stderr.strip()
    assert note.startswith("note: source 0 ") and str(src) in note and "\n" not in note, note
    assert ("is gone" if change == "deleted" else "changed since it was split") in note
    v = run_datagen("verify", out)
    assert v.exit_code == 0 and "OK:" in v.output and "note: source 0" in v.stderr, (v.output, v.stderr)
    with pytest.warns(UserWarning, match="provenance: source 0 .*src.csv"):
        DataGenerator(str(out), ["fare"], batch_size=3).provenance(0)


def test_append_of_a_changed_file_at_a_known_path_is_refused(split_csv, run_split):
    src, out = split_csv
    before = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    _csv(src, 301)   # the same 300 rows and one more, re-downloaded over the old file
    r = run_split(src, "--out", out, "--append")
    fails(r, 1, "already in the dataset", "source 0", "stored twice", "--overwrite")
    assert hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest() == before
    new = src.with_name("src-day2.csv")   # new rows under a new name: fine
    _csv(new, 5, start=300)
    r = run_split(new, "--out", out, "--append")
    assert r.exit_code == 0, r.output
    assert arrow_dataset(str(out)).count_rows() == 305


@pytest.mark.parametrize("dataset_encoding", ["latin-1", None])
def test_each_append_reads_its_files_in_its_own_encoding(tmp_path, run_split, dataset_encoding):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    enc_first = dataset_encoding or "utf-8"
    enc_second = "utf-8" if dataset_encoding else "latin-1"
    first.write_bytes("g,name\na,café\n".encode(enc_first))
    second.write_bytes("g,name\nb,café\n".encode(enc_second))
    out = tmp_path / "ds"
    r = run_split(first, "--out", out, "--group-by", "g", *(["--encoding", dataset_encoding] if dataset_encoding else []))
    assert r.exit_code == 0, r.output
    r = run_split(second, "--out", out, "--append", *(["--encoding", "latin-1"] if enc_second == "latin-1" else []))
    assert r.exit_code == 0, r.output
    names = arrow_dataset(str(out)).to_table().column("name").to_pylist()
    want = pd.concat([pd.read_csv(first, encoding=enc_first), pd.read_csv(second, encoding=enc_second)])
    assert sorted(names) == sorted(want["name"]) == ["café", "café"]


@pytest.mark.parametrize("append", [False, True])
def test_a_label_with_nulls_is_said_at_the_end_of_the_split(tmp_path, run_split, run_datagen, append):
    """A --label column with nulls (NYC taxi's passenger_count): the split stores the rows, and now says that a
    generator with that label refuses them and verify fails the dataset (it said nothing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pd.date_range("2024-01-01", periods=40, freq="h", tz="UTC")
    pq.write_table(pa.table({"t": t, "x": [1.0] * 40, "y": pa.array([1, None, 2, 3] * 10, pa.int64())}),
                   tmp_path / "a.parquet")
    pq.write_table(pa.table({"t": t + pd.Timedelta(days=5), "x": [1.0] * 40, "y": pa.array([1] * 40, pa.int64())}),
                   tmp_path / "b.parquet")
    out = tmp_path / "ds"
    first, second = ("b.parquet", "a.parquet") if append else ("a.parquet", "b.parquet")
    r = run_split(tmp_path / first, "--out", out, "--time-column", "t", "--group-by", "day", "--label", "y")
    assert r.exit_code == 0 and ("note:" in r.stderr) != append, r.stderr
    if append:
        r = run_split(tmp_path / second, "--out", out, "--append")
        assert r.exit_code == 0, r.output
    note = r.stderr.strip()
    assert note.startswith("note: label column 'y' holds 10 null values") and "\n" not in note, note
    assert run_datagen("verify", out).exit_code == 1   # what the note announces


def test_shard_files_read_only_the_current_version(tmp_path, run_split, run_datagen):
    """Globs such as DIR/**/*.parquet also read earlier versions' shards after an append and a compact
    (the hostile tester counted 9,086 rows for 6,000); ``shard_files`` lists the current version's."""
    import duckdb
    import polars as pl

    from datagen.dataset import shard_files

    out = tmp_path / "ds"
    for k in range(2):
        src = tmp_path / f"d{k}.csv"
        _csv(src, 300, start=300 * k)
        r = run_split(src, "--out", out, *(["--append"] if k else ["--time-column", "t", "--group-by", "day"]))
        assert r.exit_code == 0, r.output
    assert run_datagen("compact", out).exit_code == 0
    files = shard_files(out)
    glob = duckdb.sql(f"select count(*) from read_parquet('{out}/**/*.parquet')").fetchall()[0][0]
    assert glob > 600   # the recipe's trap: every version's files
    q = duckdb.sql(f"select count(*), count(distinct (_source_id, _source_row)), count(distinct day) "
                   f"from read_parquet({files!r}, hive_partitioning=true)").fetchall()[0]
    assert q == (600, 600, 3)
    frame = pl.scan_parquet(files, hive_partitioning=True).collect()
    assert frame.height == 600 and sorted(frame["id"].to_list()) == list(range(600))
    assert "day" in frame.columns


def test_a_changed_file_appended_through_a_symlink_is_refused_too(split_csv, run_split, tmp_path):
    src, out = split_csv
    _csv(src, 301)
    link = tmp_path / "elsewhere" / "link.csv"
    link.parent.mkdir()
    link.symlink_to(src)
    fails(run_split(link, "--out", out, "--append"), 1, "already in the dataset", "source 0")


def test_a_truncated_zstd_csv_is_refused(tmp_path, run_split):
    """zstandard's stream reader returned what it had of a file cut inside a frame: 128,854 of 200,000
    rows were split, the last value cut mid-number, exit 0 (splitters/zstdstream.py)."""
    import zstandard

    text = b"g,v\n" + b"".join(b"%s,%d\n" % (b"ab"[i % 2:i % 2 + 1], i) for i in range(50_000))
    whole = zstandard.ZstdCompressor(level=1).compress(text)
    frames = zstandard.ZstdCompressor().compress(text[:999]) + zstandard.ZstdCompressor().compress(text[999:])
    (tmp_path / "frames.csv.zst").write_bytes(frames)
    r = run_split(tmp_path / "frames.csv.zst", "--out", tmp_path / "ok", "--group-by", "g")
    assert r.exit_code == 0, r.output
    assert sorted(arrow_dataset(str(tmp_path / "ok")).to_table().column("v").to_pylist()) == list(range(50_000))
    for cut in (0.5, 0.99, len(frames) - 3):
        data = frames[:cut] if isinstance(cut, int) else whole[:int(len(whole) * cut)]
        (tmp_path / "cut.csv.zst").write_bytes(data)
        fails(run_split(tmp_path / "cut.csv.zst", "--out", tmp_path / "o", "--group-by", "g"), 1,
              "truncated or corrupt", "cut.csv.zst")
        assert not (tmp_path / "o").exists()


def test_shard_files_refuses_a_url_in_one_line():
    from datagen.contract.errors import ConfigError
    from datagen.dataset import shard_files

    for url in ("s3://bucket/ds", "file:///tmp/ds"):
        with pytest.raises(ConfigError, match="takes a local dataset directory.*arrow_dataset"):
            shard_files(url)


def test_append_names_a_column_spelt_in_another_unicode_form(tmp_path, run_split):
    import unicodedata

    nfd, nfc = unicodedata.normalize("NFD", "café"), unicodedata.normalize("NFC", "café")
    (tmp_path / "a.csv").write_text(f"g,{nfd},v\na,1,2\n")
    (tmp_path / "b.csv").write_text(f"g,{nfc},v\nb,3,4\n")
    assert run_split(tmp_path / "a.csv", "--out", tmp_path / "o", "--group-by", "g").exit_code == 0
    fails(run_split(tmp_path / "b.csv", "--out", tmp_path / "o", "--append"), 1, "another Unicode form",
          ascii(nfd), ascii(nfc))
