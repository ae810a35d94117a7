"""Every listed error: one line on stderr, exit 1 (2 for usage), no traceback,
no manifest, nothing left behind. Also the output directory's life cycle."""

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from datagen.contract.manifest import read_manifest
from splitters.outdir import STAGING
from cli_checks import fails as _fails
from gen_fixtures import stamps



def _nothing_left(out, existed=False):
    if existed:
        assert list(out.iterdir()) == []
    else:
        assert not out.exists()


def test_nonexistent_input(tmp_path, run_split):
    r = run_split(tmp_path / "nope.parquet", "--out", tmp_path / "out", "--time-column", "t")
    _fails(r, 1, "nope.parquet", "no such file")
    _nothing_left(tmp_path / "out")
    r = run_split(tmp_path / "*.csv", "--out", tmp_path / "out", "--time-column", "t")
    _fails(r, 1, "no file matches")


def test_empty_inputs(tmp_path, run_split):
    (tmp_path / "zero.csv").write_bytes(b"")
    _fails(run_split(tmp_path / "zero.csv", "--out", tmp_path / "o1", "--time-column", "t"), 1, "zero.csv", "empty")
    (tmp_path / "header.csv").write_text("t,v\n")
    _fails(run_split(tmp_path / "header.csv", "--out", tmp_path / "o2", "--time-column", "t"), 1, "no rows")
    _nothing_left(tmp_path / "o2")


def test_missing_columns(tmp_path, run_split):
    pq.write_table(pa.table({"t": stamps(10), "v": np.arange(10)}), tmp_path / "a.parquet")
    src = tmp_path / "a.parquet"
    _fails(run_split(src, "--out", tmp_path / "o", "--time-column", "when"), 2, "time column 'when'", "a.parquet")
    _fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--label", "y"), 2, "label column 'y'")
    _fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--group-by", "month,carrier"), 2,
           "group column 'carrier'")
    _nothing_left(tmp_path / "o")


def test_schema_mismatch_names_file_and_column(tmp_path, run_split):
    pq.write_table(pa.table({"t": stamps(5), "v": np.arange(5)}), tmp_path / "a.parquet")
    # int + float is unified to float64 (tests/test_schema_unify.py); text + int is refused
    pq.write_table(pa.table({"t": stamps(5), "v": [str(i) for i in range(5)]}), tmp_path / "b.parquet")
    _fails(run_split(tmp_path / "*.parquet", "--out", tmp_path / "o", "--time-column", "t"), 1,
           "column 'v'", "b.parquet", "a.parquet")
    pq.write_table(pa.table({"t": stamps(5), "w": np.arange(5)}), tmp_path / "b.parquet")
    _fails(run_split(tmp_path / "*.parquet", "--out", tmp_path / "o", "--time-column", "t"), 1, "b.parquet", "'v'")
    _nothing_left(tmp_path / "o")


def test_unparseable_times_error_then_drop(tmp_path, run_split):
    times = ["2024-01-01T00:00:00Z"] * 5 + ["yesterday", "", "2024-13-45T00:00:00Z"] + ["2024-02-01T00:00:00Z"] * 2
    pacsv.write_csv(pa.table({"t": times, "v": list(range(10))}), tmp_path / "bad.csv")
    out = tmp_path / "o"
    # the empty cell (row 6) is a missing time, not a bad one (tests/test_missing_times.py)
    err = _fails(run_split(tmp_path / "bad.csv", "--out", out, "--time-column", "t"), 1,
                 "2 rows", "bad.csv:row 5", "'yesterday'", "--on-bad-time drop")
    assert "row 7" in err and "row 6" not in err
    _nothing_left(out)
    r = run_split(tmp_path / "bad.csv", "--out", out, "--time-column", "t", "--group-by", "month", "--on-bad-time", "drop")
    assert r.exit_code == 0, r.stderr
    m = read_manifest(out)
    assert (m.sources[0].rows_read, m.sources[0].rows_dropped) == (10, 2)
    assert m.totals.rows_written == 8 and m.totals.rows_dropped == 2 and m.totals.missing_times == 1
    written = sorted(pq.read_table(out / s.path).column("_source_row").to_pylist()[i]
                     for s in m.shards for i in range(s.rows))
    assert written == [0, 1, 2, 3, 4, 6, 8, 9]


def test_numeric_time_without_unit_is_a_usage_error(tmp_path, run_split):
    pq.write_table(pa.table({"t": np.arange(5), "v": np.arange(5)}), tmp_path / "a.parquet")
    _fails(run_split(tmp_path / "a.parquet", "--out", tmp_path / "o", "--time-column", "t"), 2, "--time-unit")


def test_bad_options_are_usage_errors(tmp_path, run_split):
    pq.write_table(pa.table({"t": stamps(5), "v": np.arange(5)}), tmp_path / "a.parquet")
    src = tmp_path / "a.parquet"
    _fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--timezone", "Mars/Base"), 2, "Mars/Base")
    _fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--max-rows-per-shard", "0"), 2,
           "max_rows_per_shard")
    _fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--memory-limit", "lots"), 2, "'lots'")
    _fails(run_split(src, "--time-column", "t"), 2, "--out")
    r = run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--compression", "gzip")
    assert r.exit_code == 2  # click's own usage error
    (tmp_path / "c.yaml").write_text("colour: blue\n")
    _fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--config", tmp_path / "c.yaml"), 2,
           "unknown key 'colour'")


def test_out_dir_not_empty_is_left_untouched(tmp_path, run_split):
    pq.write_table(pa.table({"t": stamps(5), "v": np.arange(5)}), tmp_path / "a.parquet")
    out = tmp_path / "o"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    _fails(run_split(tmp_path / "a.parquet", "--out", out, "--time-column", "t"), 1, "not empty", "precious.txt")
    assert [p.name for p in out.iterdir()] == ["precious.txt"]
    # --overwrite does not delete a directory that is not a dataset either
    _fails(run_split(tmp_path / "a.parquet", "--out", out, "--time-column", "t", "--overwrite"), 1, "not empty")
    assert (out / "precious.txt").read_text() == "keep me"


def test_up_to_date_overwrite_and_changed_sources(tmp_path, run_split):
    src = tmp_path / "a.parquet"
    pq.write_table(pa.table({"t": stamps(50), "v": np.arange(50)}), src)
    out = tmp_path / "o"
    args = [src, "--out", out, "--time-column", "t", "--group-by", "date"]
    assert run_split(*args).exit_code == 0
    first = (out / "manifest.json").read_text()
    r = run_split(*args)
    assert r.exit_code == 0 and "up to date" in r.output
    assert (out / "manifest.json").read_text() == first
    _fails(run_split(*args[:-1], "day"), 1, "already holds a dataset", "--overwrite")
    r = run_split(*args[:-1], "day", "--overwrite")
    assert r.exit_code == 0 and read_manifest(out).config["group_by"] == ["day"]
    # since versions (issue 15) an overwrite deletes no file: version 1 keeps its layout until vacuum
    assert list(out.glob("date=*")) and "datagen vacuum" in r.output
    assert not any(s.path.startswith("date=") for s in read_manifest(out).shards), "the old layout is not listed"
    pq.write_table(pa.table({"t": stamps(60), "v": np.arange(60)}), src)  # the source changed
    _fails(run_split(*args[:-1], "day"), 1, "changed sources")


def test_leftovers_nobody_accounts_for_are_not_cleared(tmp_path, run_split):
    # a marker, a staging area and a half shard, but no journal of ours: not demonstrably written
    # by a split, so nothing is deleted (a real killed split is tested in test_fault_injection.py)
    src = tmp_path / "a.parquet"
    pq.write_table(pa.table({"t": stamps(50), "v": np.arange(50)}), src)
    out = tmp_path / "o"
    (out / STAGING / "shards").mkdir(parents=True)
    (out / ".datagen-split").write_text("x")
    (out / "date=1970-01-01").mkdir()
    (out / "date=1970-01-01" / "part-00000.parquet").write_bytes(b"PAR1 half")
    with pytest.raises(Exception):
        read_manifest(out)  # no manifest = no dataset
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    for extra in ([], ["--overwrite"]):
        _fails(run_split(src, "--out", out, "--time-column", "t", "--group-by", "date", *extra), 1, "not empty")
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before


def test_failure_midway_leaves_no_partial_dataset(tmp_path, run_split):
    # b.parquet has a valid footer (so planning succeeds and --out is claimed) but garbage data pages
    import struct

    pq.write_table(pa.table({"t": stamps(5000), "v": np.arange(5000)}), tmp_path / "a.parquet", compression="none")
    data = bytearray((tmp_path / "a.parquet").read_bytes())
    footer = struct.unpack("<I", data[-8:-4])[0]
    data[4:len(data) - footer - 8] = b"\xff" * (len(data) - footer - 12)
    (tmp_path / "b.parquet").write_bytes(bytes(data))
    out = tmp_path / "o"
    out.mkdir()
    r = run_split(tmp_path / "*.parquet", "--out", out, "--time-column", "t")
    _fails(r, 1, "b.parquet")
    _nothing_left(out, existed=True)


def test_out_inside_an_input_directory_is_refused(tmp_path, run_split):
    src = tmp_path / "events"
    src.mkdir()
    pq.write_table(pa.table({"t": stamps(20), "v": np.arange(20)}), src / "a.parquet")
    for _ in range(2):  # refused the first time too, not only once the shards would be inputs
        _fails(run_split(src, "--out", src / "by-day", "--time-column", "t"), 2, "lies inside input directory")
        assert not (src / "by-day").exists()
