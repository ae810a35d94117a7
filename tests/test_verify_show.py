"""datagen verify catches a flipped byte and a deleted shard; datagen show reports."""

import json

import pytest

from datagen.contract.manifest import read_manifest
from manifest_edit import dump, load  # shards as entries, written back as the format's table


@pytest.fixture
def dataset(sample_parquet, run_split, tmp_path):
    out = tmp_path / "ds"
    r = run_split(sample_parquet, "--out", out, "--time-column", "event_time", "--group-by", "month",
                  "--label", "label")
    assert r.exit_code == 0
    return out


def test_verify_ok_then_flipped_byte_then_deleted(dataset, run_datagen):
    r = run_datagen("verify", dataset)
    assert r.exit_code == 0 and "OK: 12 shards" in r.output
    m = read_manifest(dataset)
    victim = dataset / m.shards[3].path
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    r = run_datagen("verify", dataset)
    assert r.exit_code == 1 and f"changed shard {m.shards[3].path}" in r.stderr
    (dataset / m.shards[7].path).unlink()
    r = run_datagen("verify", dataset)
    assert r.exit_code == 1
    assert f"missing shard {m.shards[7].path}" in r.stderr and f"changed shard {m.shards[3].path}" in r.stderr
    assert "2 of 12 shards" in r.stderr


def test_verify_refuses_escaping_paths(dataset, run_datagen):
    path = dataset / "manifest.json"
    data = load(path)
    data["shards"][0]["path"] = "../outside.parquet"
    path.write_text(dump(data))
    r = run_datagen("verify", dataset)
    assert r.exit_code == 1 and "../outside.parquet" in r.stderr and "escape" in r.stderr
    data["shards"][0]["path"] = "/etc/passwd"
    path.write_text(dump(data))
    assert run_datagen("verify", dataset).exit_code == 1


def test_show_text_and_json(dataset, run_datagen):
    r = run_datagen("show", dataset)
    assert r.exit_code == 0
    for needle in ("12,000 written", "12 in 12 groups by month", "label     label: 0:", "event_time", "sources   3"):
        assert needle in r.output, needle
    j = json.loads(run_datagen("show", dataset, "--json").output)
    assert j["rows"] == 12_000 and j["shards"] == 12 and sum(j["label_counts"].values()) == 12_000
    assert j["time_range"][0].startswith("2024-01-01")


def test_show_missing_dataset(tmp_path, run_datagen):
    r = run_datagen("show", tmp_path / "nothing")
    assert r.exit_code == 1 and "does not exist" in r.stderr
    (tmp_path / "half").mkdir()
    r = run_datagen("verify", tmp_path / "half")
    assert r.exit_code == 1 and "not a finished dataset" in r.stderr
