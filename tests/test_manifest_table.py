"""Manifest format 2: the shard table of columns (datagen/contract/shardtable.py, issue 15 item 7).

The table round-trips against the plain per-entry form and gets the same verdict and first error
from the reader (hypothesis, against the per-entry reference); its text is deterministic and an
append's spliced text is the text rendered whole; a malformed table is refused in one line naming
the column; datasets written in format 1 (with and without versions) stay readable, append onto
format 2, and their old versions replay to the bytes they had.
"""
import copy
import dataclasses
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen.contract import manifest as M
from datagen.contract import render, shardtable
from datagen.contract.errors import ManifestError
from datagen.contract.manifest import read_manifest, read_manifest_with_hash
from manifest_edit import as_written
from test_append import ARGS, day_file
from test_manifest_columns import FIELD_VALUES, SHARD_KEYS, _verdict, edit_shards, many

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def rows_manifest(dataset):
    data = json.loads((dataset / "manifest.json").read_text())
    assert data["format_version"] == 2 and shardtable.is_table(data["shards"])  # what a split writes now
    data["shards"] = shardtable.to_rows(data["shards"])
    return many(data, 60)


@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, 59), SHARD_KEYS, FIELD_VALUES | st.just("<drop>")), max_size=3),
       group_edits=st.lists(st.tuples(st.integers(0, 59), st.sampled_from(["month", "day", "other"]), FIELD_VALUES),
                            max_size=2))
def test_table_round_trips_and_gets_the_per_entry_verdict(rows_manifest, edits, group_edits, monkeypatch):
    data = copy.deepcopy(rows_manifest)
    shards = data["shards"]
    edit_shards(shards, edits, group_edits)
    names = [c["name"] for c in data["group_columns"]]
    table = shardtable.to_columns(shards, names)
    uniform = all(set(s) == set(shardtable.FIELDS) for s in shards) and \
        all(isinstance(s["group"], dict) and set(s["group"]) == set(names) for s in shards)
    assert (table is not None) == uniform
    reference = _verdict(data, False, monkeypatch)   # rows, entry by entry
    if table is None:
        return
    assert shardtable.shape_problem(table) is None
    assert shardtable.to_rows(table) == shards        # the same entries, fields in declaration order
    assert [list(r) for r in shardtable.to_rows(table)] == [list(shardtable.FIELDS)] * len(shards)
    as_table = {**data, "shards": table}
    assert _verdict(as_table, True, monkeypatch) == reference
    if reference is None:   # typed entries and text agree with the per-entry form
        m = M.manifest_from_dict(as_table)
        assert m == M.manifest_from_dict(data)
        assert M.manifest_text(m) == render.data_text(as_table)


@pytest.mark.parametrize("change, needle", [
    (lambda t: t.pop("sha256"), "missing sha256"),
    (lambda t: t.update(extra=[]), "unknown 'extra'"),
    (lambda t: t.update(rows=t["rows"][:-1]), "shards.rows holds 59 values, but shards.path 60"),
    (lambda t: t["group"].update(month=t["group"]["month"] + [1]), "shards.group.month holds 61 values"),
    (lambda t: t.update(part=5), "shards.part must be a list"),
    (lambda t: t.update(group=[1]), "shards.group must be an object"),
])
def test_a_malformed_table_is_refused_in_one_line_naming_the_column(rows_manifest, tmp_path, change, needle):
    data = as_written(copy.deepcopy(rows_manifest))
    change(data["shards"])
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError) as err:
        read_manifest(tmp_path)
    assert needle in str(err.value) and "manifest.json" in str(err.value) and "\n" not in str(err.value)


def test_text_is_deterministic_and_a_spliced_append_is_the_whole_text(rows_manifest):
    m = M.manifest_from_dict(rows_manifest)
    text = M.manifest_text(m)
    assert text == M.manifest_text(M.manifest_from_dict(json.loads(text))) == render.data_text(json.loads(text))
    parent = dataclasses.replace(m, shards=m.shards[:45])
    names = m.group_names
    texts = [render.column_texts(shardtable.of_entries(s, names)) for s in (m.shards[:45], m.shards[45:])]
    assert M.manifest_text(m, texts=render.joined_texts(*texts)) == text
    assert M.manifest_text(parent, texts=texts[0]) == M.manifest_text(parent)
    empty = render.column_texts(shardtable.of_entries([], names))
    assert render.joined_texts(empty, render.column_texts(shardtable.of_entries(m.shards, names))) == \
        render.column_texts(shardtable.of_entries(m.shards, names))


def _as_format_1(out, versioned: bool) -> bytes:
    """Rewrite ``out`` (one version) as an earlier datagen wrote it: format 1, one shard per line (with
    its record in the per-entry form; without versions: no record, no version fields)."""
    from datagen.contract.versions import make_record, record_text

    m = read_manifest(out)
    old = dataclasses.replace(m, format_version=1, **({} if versioned else {"version": None, "version_record": None}))
    text = M.manifest_text(old)
    assert json.loads(text)["format_version"] == 1 and isinstance(json.loads(text)["shards"], list)
    (out / "manifest.json").write_text(text)
    record = out / "_versions" / "00000001.json"
    if versioned:
        rec = make_record(None, None, old, "split", old.config, True)
        assert isinstance(rec["shards_added"], list)
        record.write_text(record_text(rec))
    else:
        record.unlink()
        (out / "_versions").rmdir()
    return text.encode()


@pytest.mark.parametrize("versioned", [True, False])
def test_a_format_1_dataset_reads_appends_and_replays_its_old_version(tmp_path, run_split, run_datagen, versioned):
    from datagen import DataGenerator

    a, b = (day_file(tmp_path / f"{n}.parquet", d0, 3, 200, i) for i, (n, d0) in enumerate((("a", 0), ("b", 10))))
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    fresh = read_manifest(out)
    old_bytes = _as_format_1(out, versioned)
    m, sha = read_manifest_with_hash(out)
    assert m.format_version == 1 and sha == hashlib.sha256(old_bytes).hexdigest()
    assert dataclasses.replace(m, format_version=2, version=fresh.version, version_record=fresh.version_record) \
        == fresh
    assert run_datagen("show", out).exit_code == 0 and run_datagen("verify", out).exit_code == 0
    before = [DataGenerator(out, ["x"], batch_size=64, shuffle=True, seed=3)[i][0].tolist() for i in range(3)]
    assert run_split(b, "--out", out, "--append").exit_code == 0
    new = json.loads((out / "manifest.json").read_text())
    assert new["format_version"] == 2 and shardtable.is_table(new["shards"]) and new["version"] == 2
    old, old_sha = read_manifest_with_hash(out, 1)
    assert old == m and old_sha == hashlib.sha256(old_bytes).hexdigest()   # version 1 exactly as it was
    again = DataGenerator(out, ["x"], batch_size=64, shuffle=True, seed=3, version=1)
    assert [again[i][0].tolist() for i in range(3)] == before
    r = run_datagen("log", out)
    assert r.exit_code == 0 and "[" not in r.output and len(r.output.strip().splitlines()) == 2, r.output
    assert run_datagen("verify", out).exit_code == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from([str(i) for i in range(20)]) | st.text(max_size=2),
                                st.integers(0, 10**12), max_size=20), max_size=30))
def test_show_adds_label_counts_as_counter_update_per_shard(counts):
    from collections import Counter

    from datagen.app.show import _label_totals

    expected: Counter = Counter()
    for c in counts:
        expected.update(c)
    got = _label_totals([c for c in counts if c])
    assert got == expected and sorted(got.items()) == sorted(expected.items())


def test_gc_frozen_freezes_for_the_block_only_and_leaves_another_freeze_alone():
    import gc

    from datagen.contract.gcpause import gc_frozen

    assert gc.get_freeze_count() == 0
    keep = [{"x": i} for i in range(1000)]
    with gc_frozen():
        assert gc.get_freeze_count() >= len(keep)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        made_after = [{"y": i} for i in range(1000)]   # a second freeze would take these too
        with gc_frozen():   # (a frozen object freed meanwhile, by another thread, leaves the count: <=)
            assert gc.get_freeze_count() <= frozen < gc.get_freeze_count() + len(made_after)
        assert 0 < gc.get_freeze_count() <= frozen   # not ours to unfreeze
    finally:
        gc.unfreeze()


def test_an_append_commits_with_its_parent_manifest_frozen_and_unfreezes(tmp_path, run_split, monkeypatch):
    """The parent manifest an append read is not traversed by the collector while the append runs."""
    import gc

    import splitters.append as A

    seen = []
    real = A.publish

    def publish(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return real(*args, **kwargs)

    monkeypatch.setattr(A, "publish", publish)
    a, b = (day_file(tmp_path / f"{n}.parquet", d0, 2, 100, i) for i, (n, d0) in enumerate((("a", 0), ("b", 10))))
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    assert run_split(b, "--out", out, "--append").exit_code == 0
    assert len(seen) == 1 and seen[0] > 0 and gc.get_freeze_count() == 0


def test_an_unknown_format_version_names_the_ones_this_datagen_reads(rows_manifest):
    with pytest.raises(ManifestError, match=r"format_version 3 is not supported \(this datagen reads 1 and 2\)"):
        M.check_manifest_data({**as_written(rows_manifest), "format_version": 3}, "m")
    with pytest.raises(ManifestError, match="shards is a table of columns, which only format_version 2 has"):
        M.check_manifest_data({**as_written(rows_manifest), "format_version": 1}, "m")
