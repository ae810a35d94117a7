"""``datagen provenance``'s notes on what it answered for (datagen/app/trace_notes.py): a flag given with
``--config`` that overrides a value the config holds is named (it was taken silently, and ``--help`` said
the flags were for "when no --config"); with no version named while the dataset has several, the answer
is for the current one, and a note says so and how to pin it (after an append it named other rows silently)."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen import DataGenerator


def _notes(r):
    return [line for line in r.stderr.splitlines() if line.startswith("note:")]


@pytest.fixture
def ds(tmp_path, run_split):
    pq.write_table(pa.table({"g": [i % 3 for i in range(60)], "v": [float(i) for i in range(60)]}),
                   tmp_path / "a.parquet")
    assert run_split(tmp_path / "a.parquet", "--out", tmp_path / "ds", "--group-by", "g").exit_code == 0
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("generator:\n  features: [v]\n  batch_size: 8\n  shuffle: true\n  seed: 7\n  memory_budget: 1MB\n")
    return tmp_path / "ds", cfg


def _prov(run_datagen, out, *args):
    r = run_datagen("provenance", out, "--batch", "0", "--format", "csv", *args)
    assert r.exit_code == 0, r.output
    return r


def test_a_flag_overriding_the_config_is_named(ds, run_datagen):
    out, cfg = ds
    assert _notes(_prov(run_datagen, out, "--config", cfg)) == []
    for same in (["--seed", "7"], ["--memory-budget", "1000000"], ["--label", "g"]):   # equal, or not held
        assert _notes(_prov(run_datagen, out, "--config", cfg, *same)) == [], same
    r = _prov(run_datagen, out, "--config", cfg, "--seed", "3", "--features", "v")
    assert _notes(r) == [f"note: --seed 3 overrides seed: 7 of the config {str(cfg)!r}: the rows named are those "
                         "of the run as overridden"]
    api = DataGenerator(str(out), ["v"], batch_size=8, shuffle=True, seed=3, memory_budget="1MB").provenance(0)
    assert r.stdout == api.to_csv()   # the override is applied
    r = _prov(run_datagen, out, "--config", cfg, "--batch-size", "4", "--no-shuffle")
    assert [n.split(" of the config")[0] for n in _notes(r)] == ["note: --batch-size 4 overrides batch_size: 8",
                                                                  "note: --no-shuffle overrides shuffle: true"]


def test_the_help_says_flags_override_the_config(run_datagen):
    text = " ".join(run_datagen("provenance", "--help").output.split())
    assert "(when no --config)" not in text
    assert "A flag below given with it overrides the config's value" in text


def test_an_unnamed_version_of_a_dataset_with_several_is_said(ds, tmp_path, run_split, run_datagen):
    out, cfg = ds
    assert _notes(_prov(run_datagen, out, "--config", cfg)) == []   # one version: nothing to say
    pq.write_table(pa.table({"g": [1, 2], "v": [100.0, 101.0]}), tmp_path / "b.parquet")
    assert run_split(tmp_path / "b.parquet", "--out", out, "--append").exit_code == 0
    notes = _notes(_prov(run_datagen, out, "--config", cfg))
    assert len(notes) == 1 and "answered for version 2, the current one" in notes[0], notes
    assert f"add 'version: N' to {str(cfg)!r} or pass --version N" in notes[0]
    notes = _notes(_prov(run_datagen, out, "--features", "v"))
    assert len(notes) == 1 and "answered for version 2" in notes[0] and notes[0].endswith(
        "pass --version N to answer for version N"), notes
    assert _notes(_prov(run_datagen, out, "--config", cfg, "--version", "1")) == []
    assert _notes(_prov(run_datagen, out, "--features", "v", "--version", "2")) == []
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(cfg.read_text() + "  version: 1\n")
    assert _notes(_prov(run_datagen, out, "--config", pinned)) == []
