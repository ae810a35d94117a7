"""An append on its parent's column table (splitters/append_parent.py, issue 15 item 7).

The fast path (the checked parent kept as its shard table, no typed entry per old shard) commits
the byte-identical manifest and version record as the typed path (hypothesis: parent settings and
days, the new day, a parent whose text is not the canonical one); a hand-edited parent is still
refused by the append with the reader's one-line message, and nothing is committed; parents the
table path does not take (format 1, group columns stored in another order) are read typed and
appended as before. The helpers it relies on give the same answers as what they replace: the joined
text of a column of plain texts is ``json.dumps``'s, the character-class checks are the regexes'.
"""
import json
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import splitters.append as append_module
from datagen.contract import textcols as mf
from datagen.contract import render
from datagen.contract.errors import ManifestError
from datagen.contract.manifest import read_manifest
from manifest_edit import edit
from splitters.append_parent import TableParent, read_parent
from test_append import day_file

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
GROUPINGS = {"month": ["--group-by", "month", "--label", "y"], "date,hour": ["--group-by", "date,hour"]}
_STAMP = re.compile(r'("created_at": ?)"[^"]*"')


@pytest.fixture(scope="module")
def parents(tmp_path_factory):
    """One split per (grouping, days) the property draws from, made once."""
    from cli_checks import split_cli

    base, made = tmp_path_factory.mktemp("parents"), {}
    for grouping, flags in GROUPINGS.items():
        for days in (1, 3):
            src = day_file(base / f"{grouping}-{days}.parquet", 0, days, 300, days)
            out = base / f"{grouping}-{days}"
            assert split_cli(src, "--time-column", "t", *flags, "--out", out).exit_code == 0
            made[grouping, days] = out
    return made


def _append(run_split, parent, out, day, typed, monkeypatch):
    shutil.copytree(parent, out)
    with monkeypatch.context() as m:
        if typed:  # the typed path: the parent as read_manifest gives it
            m.setattr(append_module, "read_parent", read_manifest)
        result = run_split(day, "--out", out, "--append")
    assert result.exit_code == 0, result.output
    record = out / "_versions" / "00000002.json"
    return [_STAMP.sub(r'\1"T"', p.read_text()) for p in (out / "manifest.json", record)]


@SETTINGS
@given(grouping=st.sampled_from(sorted(GROUPINGS)), days=st.sampled_from([1, 3]), day0=st.integers(0, 40),
       rows=st.integers(1, 200), seed=st.integers(0, 2**16), canonical=st.booleans())
def test_the_table_path_commits_the_bytes_of_the_typed_path(parents, tmp_path_factory, run_split, monkeypatch,
                                                            grouping, days, day0, rows, seed, canonical):
    tmp = tmp_path_factory.mktemp("ex")
    parent = parents[grouping, days]
    if not canonical:  # the same manifest in other JSON text: still valid, its text hash is not its bytes' hash
        parent = shutil.copytree(parent, tmp / "parent")
        (parent / "manifest.json").write_text(json.dumps(json.loads((parent / "manifest.json").read_text()), indent=1))
    assert isinstance(read_parent(parent), TableParent)
    day = day_file(tmp / "day.parquet", day0, 1, rows, seed)
    fast = _append(run_split, parent, tmp / "fast", day, False, monkeypatch)
    typed = _append(run_split, parent, tmp / "typed", day, True, monkeypatch)
    assert fast == typed
    record = json.loads(fast[1])
    assert record["parent_manifest_sha256"] == read_parent(parent).sha256
    assert (record["parent_text_sha256"] == record["parent_manifest_sha256"]) == canonical


EDITS = {
    "rows": lambda d: d["shards"][0].update(rows=d["shards"][0]["rows"] + 1),
    "label count": lambda d: d["shards"][-1]["label_counts"].update({"0": 10**6}),
    "path": lambda d: d["shards"][0].update(path="../" + d["shards"][0]["path"]),
    "group": lambda d: d["shards"][0]["group"].update(month=7),
    "sha256": lambda d: d["shards"][0].update(sha256="F" * 64),
    "totals": lambda d: d["totals"].update(bytes=d["totals"]["bytes"] + 1),
}


@pytest.mark.parametrize("change", sorted(EDITS))
def test_a_hand_edited_parent_is_refused_with_the_readers_line(parents, tmp_path, run_split, change):
    from cli_checks import fails

    out = shutil.copytree(parents["month", 3], tmp_path / "ds")
    edit(out / "manifest.json", EDITS[change])
    with pytest.raises(ManifestError) as err:
        read_manifest(out)
    before = (out / "manifest.json").read_bytes()
    day = day_file(tmp_path / "day.parquet", 50, 1, 100, 1)
    line = fails(run_split(day, "--out", out, "--append"), 1, str(err.value), "not a valid datagen manifest")
    assert (out / "manifest.json").read_bytes() == before and not (out / "_versions" / "00000002.json").exists()
    assert line


def test_a_duplicate_key_in_the_parent_is_refused(parents, tmp_path, run_split):
    from cli_checks import fails

    out = shutil.copytree(parents["month", 1], tmp_path / "ds")
    text = (out / "manifest.json").read_text()
    (out / "manifest.json").write_text(text.replace('"rows": [', '"rows": [1], "rows": [', 1))
    day = day_file(tmp_path / "day.parquet", 50, 1, 100, 1)
    fails(run_split(day, "--out", out, "--append"), 1, "'rows' appears twice")


def test_parents_the_table_path_does_not_take_are_appended_typed(parents, tmp_path, run_split):
    out = shutil.copytree(parents["date,hour", 1], tmp_path / "ds")
    data = json.loads((out / "manifest.json").read_text())
    data["shards"]["group"] = dict(reversed(list(data["shards"]["group"].items())))  # valid, another order
    (out / "manifest.json").write_text(json.dumps(data))
    parent = read_parent(out)
    assert not isinstance(parent, TableParent) and parent == read_manifest(out)
    day = day_file(tmp_path / "day.parquet", 5, 1, 100, 2)
    assert run_split(day, "--out", out, "--append").exit_code == 0
    m = read_manifest(out)
    assert m.version == 2 and len(m.shards) > len(parent.shards) and m.shards[:len(parent.shards)] == parent.shards


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=6) | st.text(st.sampled_from('az09/."\\\x00\x1f\x7f é\u2028'), max_size=6),
                max_size=6))
def test_a_column_of_texts_is_the_json_encoders_text(values):
    assert render.column_text(values) == json.dumps(values, ensure_ascii=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.sampled_from("af09AZ_.=~%+/-\n\\é\x00 :"), max_size=70) | st.just("0" * 64)
                | st.just("a" * 63 + "\n"), max_size=5),
       st.sampled_from([mf._PATH_CHARS, mf._SIMPLE_TEXTS, mf._SHAS]))
def test_character_classes_are_the_regexes(values, pattern):
    joined = mf._joined(values)
    expected = joined is not None and pattern.fullmatch(joined) is not None
    assert mf._lines(values, pattern) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "a", "a/b", "ab", "b", "a/b/c"]), st.integers(0, 9)), max_size=12),
       st.sets(st.sampled_from(["", "a", "a/b", "ab", "b", "c"])))
def test_next_parts_of_the_table_are_the_typed_ones(shards, dirs):
    from types import SimpleNamespace

    from splitters.append import _part_start

    paths = [f"{d}/part-{i:05d}-{p}.parquet".lstrip("/") for i, (d, p) in enumerate(shards)]
    parts = [p for _, p in shards]
    typed = SimpleNamespace(shards=[SimpleNamespace(path=a, part=b) for a, b in zip(paths, parts)])
    table = TableParent(None, {"path": paths, "part": parts}, None, b"", "")
    assert _part_start(table, dirs) == _part_start(typed, dirs)


def test_when_the_splice_does_not_apply_publish_falls_back_to_the_typed_parent(parents, tmp_path, run_split,
                                                                                monkeypatch):
    import splitters.publish as publish_module

    day = day_file(tmp_path / "day.parquet", 2, 1, 150, 5)
    fast = _append(run_split, parents["date,hour", 3], tmp_path / "fast", day, False, monkeypatch)
    calls = []

    def unsure(manifest, parent):
        calls.append(isinstance(parent, TableParent))
        return None
    monkeypatch.setattr(publish_module, "render_after", unsure)
    fallback = _append(run_split, parents["date,hour", 3], tmp_path / "fallback", day, False, monkeypatch)
    assert calls == [True] and fallback == fast
