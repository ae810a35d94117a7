"""NaN labels (a float NaN is not a Parquet null, so statistics do not count it): the splitter records
each shard's NaN counts in its footer (contract/nancount.py), the generator refuses NaN labels and
sample weights at construction naming the shard, ``datagen verify`` reports them, compaction keeps
the counts right, and shard bytes stay deterministic."""

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen import DataGenerator
from datagen.contract.errors import ColumnError
from datagen.contract.nancount import KEY, nan_counts, with_nan_counts


def _table(y, w=None):
    n = len(y)
    cols = {"ts": pa.array([dt.datetime(2024, 5, 1 + i % 3, 1) for i in range(n)], pa.timestamp("us")),
            "x": pa.array(np.arange(n, dtype=float)), "y": pa.array(y, pa.float64())}
    if w is not None:
        cols["w"] = pa.array(w, pa.float64())
    return pa.table(cols)


def _split(run_split, tmp_path, table, name="ds", label="y"):
    src = tmp_path / f"{name}.parquet"
    pq.write_table(table, src)
    out = tmp_path / name
    result = run_split(src, "--out", out, "--time-column", "ts", "--group-by", "day", "--label", label)
    assert result.exit_code == 0, result.output
    return out


def _footer_counts(out):
    m = json.loads((out / "manifest.json").read_text())
    return {p: nan_counts(pq.read_metadata(out / p)) for p in m["shards"]["path"]}


def test_nan_label_refused_at_construction_and_reported_by_verify(run_split, run_datagen, tmp_path):
    y = (np.arange(300) % 3).astype(float)
    y[298] = np.nan   # day 3 (298 % 3 == 1 -> 2024-05-02)
    out = _split(run_split, tmp_path, _table(y))
    counts = _footer_counts(out)
    bad = [p for p, c in counts.items() if c["y"]]
    assert len(bad) == 1 and counts[bad[0]] == {"x": 0, "y": 1}
    for options in ({}, {"num_classes": 3}):
        with pytest.raises(ColumnError, match=rf"label column 'y' has 1 NaN values .*shard '{bad[0]}'"):
            DataGenerator(out, ["x"], label="y", batch_size=64, **options)
    DataGenerator(out, ["x"], label="y", batch_size=64, where="day != 2")   # the other shards are fine
    DataGenerator(out, ["x"], batch_size=64)                                # y not read: no label check
    result = run_datagen("verify", out)
    assert result.exit_code != 0 and f"shard '{bad[0]}': label column 'y' holds 1 NaN values" in result.output
    assert "shards fail the checks listed above" in result.output and "do not match" not in result.output
    shown = run_datagen("show", out).output
    assert "label     y: double, no class counts" in shown.splitlines()   # a float label: no empty counts


def test_nan_sample_weight_refused(run_split, tmp_path):
    y = (np.arange(90) % 3).astype(float)
    w = np.ones(90)
    w[0] = np.nan
    out = _split(run_split, tmp_path, _table(y, w))
    with pytest.raises(ColumnError, match="sample_weight column 'w' has 1 NaN values"):
        DataGenerator(out, ["x"], label="y", sample_weight="w", batch_size=16)


def test_split_is_deterministic_and_compact_recounts(run_split, run_datagen, tmp_path):
    y = (np.arange(120) % 3).astype(float)
    y[5] = np.nan   # day 3
    a = _split(run_split, tmp_path, _table(y), "a")
    b = _split(run_split, tmp_path, _table(y), "b")
    assert {p: (a / p).read_bytes() for p in _footer_counts(a)} == {p: (b / p).read_bytes() for p in _footer_counts(b)}
    assert sum(c["y"] for c in _footer_counts(a).values()) == 1
    src = tmp_path / "more.parquet"
    pq.write_table(_table((np.arange(60) % 3).astype(float)), src)   # clean rows: second parts per day
    assert run_split(src, "--out", a, "--append").exit_code == 0
    assert len(_footer_counts(a)) == 6
    assert run_datagen("compact", a).exit_code == 0
    counts = _footer_counts(a)
    assert len(counts) == 3 and sorted(c["y"] for c in counts.values()) == [0, 0, 1]


@settings(deadline=None, max_examples=40)
@given(st.lists(st.one_of(st.floats(allow_nan=True), st.none()), max_size=30))
def test_recorded_counts_match_numpy(values):
    table = with_nan_counts(pa.table({"f": pa.array(values, pa.float64()), "i": pa.array(range(len(values)))}))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    meta = pq.read_metadata(pa.BufferReader(sink.getvalue()))
    want = int(np.isnan(np.array([np.inf if v is None else v for v in values], dtype=float)).sum())
    assert nan_counts(meta) == {"f": want}
    assert KEY in meta.metadata


def test_shards_written_before_the_counts_warn_and_verify_still_finds(run_split, run_datagen, tmp_path):
    import hashlib

    import manifest_edit

    y = (np.arange(90) % 3).astype(float)
    y[4] = np.nan
    out = _split(run_split, tmp_path, _table(y))

    def strip(data):   # rewrite every shard as an older datagen wrote it: no NaN-count key
        for entry in data["shards"]:
            path = out / entry["path"]
            table = pq.read_table(path)
            meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != KEY}
            pq.write_table(table.replace_schema_metadata(meta), path, row_group_size=1 << 20)
            entry["bytes"] = path.stat().st_size
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()

    manifest_edit.edit(out / "manifest.json", lambda data: (strip(data), data["totals"].update(
        bytes=sum(e["bytes"] for e in data["shards"]))))
    assert all(c is None for c in _footer_counts(out).values())
    with pytest.warns(UserWarning, match="label column 'y': some selected shards were written without NaN counts"):
        gen = DataGenerator(out, ["x"], label="y", batch_size=90)
    assert np.isnan(gen[0][1]).sum() == 1   # delivered, as the warning says
    result = run_datagen("verify", out)
    assert result.exit_code != 0 and "label column 'y' holds 1 NaN values" in result.output


def test_verify_reports_null_labels_as_the_generator_refuses_them(run_split, run_datagen, tmp_path):
    src = tmp_path / "ny.csv"
    src.write_text("ts,f0,label\n2024-03-10T00:30:00Z,1,0\n2024-03-11T02:30:00Z,2,\n")
    out = tmp_path / "ds"
    assert run_split(src, "--out", out, "--time-column", "ts", "--group-by", "date", "--label", "label").exit_code == 0
    with pytest.raises(ColumnError, match="null"):
        DataGenerator(out, ["f0"], label="label")
    result = run_datagen("verify", out)
    assert result.exit_code == 1 and "label column 'label' holds 1 null values" in result.output, result.output
