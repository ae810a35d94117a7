"""The column-wise shard checks (contract/manifest_fast.py) agree with the per-entry reference.

``shards_certainly_valid`` may only vouch for a shard list the per-entry schema and rules accept,
and whatever it answers, ``check_manifest_data`` gives the same verdict and the same first error
as the per-entry reference (the column-wise pass switched off). Checked on hypothesis-generated
manifests: random mutations anywhere, and targeted edits of shard fields and group values.
A corrupted many-shard manifest (duplicate path, bad row count, escaping path, misfiled shard)
is still refused in one line naming the shard.
"""
import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen.contract import manifest as M
from datagen.contract.errors import ManifestError
from datagen.contract.manifest_fast import shards_certainly_valid
from manifest_edit import as_written, load
from test_manifest_validation import mutated


def _verdict(data, column_wise: bool, monkeypatch) -> str | None:
    with monkeypatch.context() as m:
        if not column_wise:
            m.setattr(M, "shards_certainly_valid", lambda data: None)
        try:
            M.check_manifest_data(data, "m")
        except ManifestError as exc:
            return str(exc)
    return None


def many(base: dict, n: int) -> dict:
    """``base`` (a real split's manifest) grown to ``n`` shards spread over its group directories (int group
    values cycled), as bench_manifest.py grows it: every field a real split writes, totals made to agree."""
    data = copy.deepcopy(base)
    first = data["shards"][0]
    names = [c["name"] for c in data["group_columns"]]
    shards = []
    for i in range(n):
        group = dict(first["group"])
        group.update({k: v for k, v in zip(names, (1 + i % 12, 1 + i // 12)) if isinstance(first["group"][k], int)})
        rel = "/".join(f"{k}={group[k]:02d}" if isinstance(group[k], int) else f"{k}={group[k]}" for k in names)
        name = first["path"].rpartition("/")[2].replace("part-00000", f"part-{i:05d}")
        shards.append({**first, "group": group, "part": i, "path": f"{rel}/{name}"})
    data["shards"] = shards
    rows = first["rows"] * n
    data["sources"] = data["sources"][:1]
    data["sources"][0].update(rows_read=rows, rows_dropped=0)
    data["totals"].update(rows_read=rows, rows_written=rows, rows_dropped=0, shards=n,
                          groups=len({s["path"].rpartition("/")[0] for s in shards}),
                          bytes=first["bytes"] * n)
    data["totals"].pop("missing_times", None)
    return data


@pytest.fixture(scope="module")
def base_manifest(dataset):
    return load(dataset / "manifest.json")  # shards as entries (the file holds the format-2 table)


@pytest.fixture(scope="module")
def grown(base_manifest):
    data = many(base_manifest, 300)
    M.check_manifest_data(data, "grown")
    assert shards_certainly_valid(data) is not None  # the common case takes the column-wise path
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_mutations_get_the_reference_verdict(base_manifest, data, monkeypatch):
    value = data.draw(mutated(base_manifest))
    assert _verdict(value, True, monkeypatch) == _verdict(value, False, monkeypatch)
    # the same manifest with its shards as the format-2 table: the same verdict and first error
    assert _verdict(as_written(value), True, monkeypatch) == _verdict(value, False, monkeypatch)


FIELD_VALUES = st.sampled_from([None, True, False, 0, -1, 1, 7, 2**63, 2**64, 1.5, float("nan"), "", "x", "é",
                                "\x00", "a\nb", "a" * 300, [], {}, [0], [1, 2], [True], [2**63], "A" * 64, "f" * 64,
                                "0" * 63, {"0": 1}, {"0": -1}, {"é": 3}, "../x", "/abs", "a//b", "./a", "a/./b",
                                "month=01/../x.parquet", "c:x/y", "a\\b", "x" * 256 + "/y", "-1", "NaN"])
def edit_shards(shards: list, edits, group_edits) -> None:
    """Set (or drop, for "<drop>") shard fields and group values, in place."""
    for i, key, value in edits:
        if value == "<drop>":
            shards[i].pop(key, None)
        else:
            shards[i][key] = copy.deepcopy(value)
    for i, key, value in group_edits:
        if isinstance(shards[i].get("group"), dict):
            shards[i]["group"][key] = value


SHARD_KEYS = st.sampled_from(["path", "group", "part", "rows", "bytes", "sha256", "row_groups", "time_min",
                              "time_max", "label_counts", "extra"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 299), SHARD_KEYS, FIELD_VALUES | st.just("<drop>")), min_size=1,
                      max_size=3),
       group_edits=st.lists(st.tuples(st.integers(0, 299), st.sampled_from(["month", "day", "other"]), FIELD_VALUES),
                            max_size=2),
       copies=st.lists(st.tuples(st.integers(0, 299), st.integers(0, 299), SHARD_KEYS), max_size=2))
def test_shard_edits_get_the_reference_verdict(grown, edits, group_edits, copies, monkeypatch):
    data = copy.deepcopy(grown)
    shards = data["shards"]
    edit_shards(shards, edits, group_edits)
    for i, j, key in copies:  # another shard's value: duplicates, misfiled groups, totals off
        if key in shards[j]:
            shards[i][key] = copy.deepcopy(shards[j][key])
    verdict = _verdict(data, True, monkeypatch)
    assert verdict == _verdict(data, False, monkeypatch) == _verdict(as_written(data), True, monkeypatch)
    if shards_certainly_valid(data) is not None:  # it vouched: the per-entry rules pass for the shards
        assert verdict is None or "shards[" not in verdict


@pytest.mark.parametrize("damage, expected", [
    (lambda s: s[250].update(path=s[3]["path"]), "shards[250]"),
    (lambda s: s[120].update(rows=s[120]["rows"] + 1), "shards[120]"),
    (lambda s: s[299].update(path="../../etc/" + s[299]["path"]), "shards[299].path"),
    (lambda s: s[77]["group"].update(month=13 if s[77]["group"]["month"] != 13 else 1), "shards[77]"),
    (lambda s: s[5].update(sha256="0" * 63), "shards[5].sha256"),
])
def test_corrupt_many_shard_manifest_is_refused_in_one_line(grown, tmp_path, damage, expected):
    data = copy.deepcopy(grown)
    damage(data["shards"])
    (tmp_path / "manifest.json").write_text(json.dumps(as_written(data)))
    with pytest.raises(ManifestError) as err:
        M.read_manifest(tmp_path)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_fast_typed_entries_equal_the_per_field_ones(grown):
    from datagen.contract.format import ShardEntry

    fast = M._shard_entries(grown["shards"])
    assert fast == [ShardEntry(**s) for s in grown["shards"]]
    assert M.manifest_text(M.manifest_from_dict(grown)) == M.manifest_text(M.manifest_from_dict(copy.deepcopy(grown)))


def _commit_and_tamper(tmp_path, run_split, change):
    import pandas as pd

    src = tmp_path / "a.parquet"
    pd.DataFrame({"t": pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC"), "x": range(48),
                  "y": [0, 1] * 24}).to_parquet(src)
    out = tmp_path / "ds"
    assert run_split(src, "--out", out, "--time-column", "t", "--group-by", "day", "--label", "y").exit_code == 0
    raw = (out / "manifest.json").read_bytes()
    assert M.read_manifest(out).shards
    data = load(raw.decode())
    change(data)
    (out / "manifest.json").write_text(M.manifest_text(M.typed_manifest(data)))  # the written layout, edited
    return out, tmp_path / "b.parquet"


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["shards"][1].update(path=d["shards"][0]["path"]), "listed twice"),
    (lambda d: d["shards"][0].update(rows=d["shards"][0]["rows"] + 1), "rows"),
    (lambda d: d["shards"][0].update(path="../" + d["shards"][0]["path"]), "escape"),
])
def test_a_tampered_manifest_is_refused_on_open_and_by_an_append(tmp_path, run_split, change, expected):
    """A hand-edited manifest is refused when opened, and an append to it is refused before anything
    is written."""
    import pandas as pd

    out, new = _commit_and_tamper(tmp_path, run_split, change)
    with pytest.raises(ManifestError) as err:
        M.read_manifest(out)
    assert expected in str(err.value) and "\n" not in str(err.value)
    pd.DataFrame({"t": pd.date_range("2024-01-05", periods=5, freq="h", tz="UTC"), "x": range(5),
                  "y": [0, 1, 0, 1, 0]}).to_parquet(new)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    r = run_split(new, "--out", out, "--append")
    assert r.exit_code != 0 and expected in r.output and "Traceback" not in r.output
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_an_append_checks_its_added_shards_against_the_parent(grown):
    """render_manifest with ``parent``: an added shard whose path the parent lists is refused, naming
    its index in the whole list; totals must count the parent's shards too."""
    import dataclasses

    parent = M.manifest_from_dict(grown)
    added = dataclasses.replace(parent.shards[7], group=dict(parent.shards[7].group))
    child = dataclasses.replace(parent, shards=parent.shards + [added],
                                totals=dataclasses.replace(parent.totals, shards=parent.totals.shards + 1))
    with pytest.raises(ManifestError, match=r"shards\[300\] .*listed twice"):
        M.render_manifest(child, parent=parent)
    fresh = dataclasses.replace(added, path=added.path.replace("part-00007", "part-00900"))
    child = dataclasses.replace(child, shards=parent.shards + [fresh])
    with pytest.raises(ManifestError, match="totals"):  # rows and bytes not counted in totals
        M.render_manifest(child, parent=parent)


def test_a_lone_surrogate_in_a_manifest_being_written_is_a_manifest_error(grown):
    import dataclasses

    m = M.manifest_from_dict(grown)
    bad = dataclasses.replace(m, shards=m.shards[:-1] + [dataclasses.replace(m.shards[-1], time_min="\ud800")])
    for parent in (None, dataclasses.replace(m, shards=m.shards[:-1])):  # checked whole, or only what is added
        with pytest.raises(ManifestError, match="UTF-8"):
            M.render_manifest(bad, parent=parent)
