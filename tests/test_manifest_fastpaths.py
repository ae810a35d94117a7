"""The shortcuts that make 100k-shard manifests cheap to open agree with the checks they stand for.

``_safe_path`` (one regex) never accepts a path ``path_problem`` refuses; ``_shard_ok`` never
accepts a shard the declared ``SHARD`` spec refuses; the fused shard loop of ``check_rules`` still
refuses group values of the wrong kind, wrong keys and misfiled directories; ``_entry`` builds the
same typed entry with or without extra fields.
"""
import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.contract.errors import ManifestError
from datagen.contract.format import ShardEntry
from datagen.contract.jsonspec import Invalid
from datagen.contract.manifest import _entry
from datagen.contract.manifest_rules import _value_fits, check_rules, _EXACT
from datagen.contract.manifest_schema import SHARD, _safe_path, _shard_ok
from datagen.contract.pathrules import path_problem

PATH_CHARS = st.sampled_from(list("ab=.-_~%+/:\\ \x00\n\x7fé") + ["..", "./", "//"])
paths = st.lists(PATH_CHARS, max_size=30).map("".join) | st.text(max_size=40) | \
    st.lists(st.sampled_from(["a" * 255, "b" * 256, "date=1", ".", ".."]), min_size=1, max_size=20).map("/".join)


@settings(max_examples=60, deadline=None)
@given(path=paths)
def test_safe_path_agrees_with_path_problem(path):
    assert _safe_path(path) == (path_problem(path) is None)


GOOD = {"path": "date=2024-01-01/hour=03/part-00000-0123456789abcdef.parquet", "group": {"date": "2024-01-01", "hour": 3},
        "part": 0, "rows": 10, "bytes": 100, "sha256": "a" * 64, "row_groups": [4, 6],
        "time_min": "2024-01-01T03:00:00+00:00", "time_max": "2024-01-01T03:59:00+00:00",
        "label_counts": {"0": 4, "1": 6}}
VALUES = st.sampled_from([None, True, 0, -1, 1, 2**63, 2**64, 1.5, "", "x", "é", "\x00", "a" * 5000, [], {}, [1],
                          [0], [True], "A" * 64, "g" * 64, {"0": 1}, {"0": -1}, {1: 1}, "p/../q", "/abs", "ok/x"])
KEYS = st.sampled_from(sorted(GOOD) + ["extra"])


def _spec_ok(shard) -> bool:
    try:
        SHARD.check(shard)
    except Invalid:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(st.tuples(KEYS, VALUES | st.just("<drop>")), max_size=4),
       group_edits=st.lists(st.tuples(st.sampled_from(["date", "hour", "x\x00", "é"]), VALUES), max_size=2))
def test_shard_shortcut_never_accepts_what_the_spec_refuses(edits, group_edits):
    shard = copy.deepcopy(GOOD)
    for key, value in edits:
        if value == "<drop>":
            shard.pop(key, None)
        else:
            shard[key] = copy.deepcopy(value)
    if isinstance(shard.get("group"), dict):
        for key, value in group_edits:
            shard["group"][key] = value
    if _shard_ok(shard):
        assert _spec_ok(shard)
    assert _shard_ok(GOOD) and _spec_ok(GOOD)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(_EXACT)), value=VALUES | st.sampled_from(["NaN", "Infinity", False]))
def test_exact_type_shortcut_only_accepts_fitting_values(kind, value):
    if type(value) in _EXACT[kind]:
        assert _value_fits(kind, value)


def _manifest():
    shard = {k: v for k, v in GOOD.items() if k != "label_counts"}
    return {"sources": [{"id": 0, "rows_read": 10, "rows_dropped": 0}], "shards": [shard],
            "schema": [{"name": "t", "type": "timestamp[ns, tz=UTC]"}, {"name": "_source_id", "type": "int32"},
                       {"name": "_source_row", "type": "int64"}],
            "group_columns": [{"name": "date", "type": "string", "derived_from": "t"},
                              {"name": "hour", "type": "int8", "derived_from": "t"}],
            "time_column": "t", "label_column": None,
            "totals": {"rows_read": 10, "rows_written": 10, "rows_dropped": 0, "shards": 1, "groups": 1,
                       "bytes": 100}}


@pytest.mark.parametrize("group, message", [
    ({"date": "2024-01-01", "hour": "03"}, "does not fit its column type"),
    ({"date": "2024-01-01", "hour": True}, "does not fit its column type"),
    ({"date": "2024-01-01"}, "do not match group_columns"),
    ({"date": "2024-01-01", "hour": 3, "x": 1}, "do not match group_columns"),
    ({"date": "2024-01-02", "hour": 3}, "but its group values give"),
])
def test_fused_rules_still_refuse_misfiled_or_mistyped_shards(group, message):
    data = _manifest()
    check_rules(data, "m")  # the unchanged manifest passes
    data["shards"][0]["group"] = group
    with pytest.raises(ManifestError, match=message):
        check_rules(data, "m")


def test_entry_is_the_same_with_or_without_extra_fields():
    plain = _entry(ShardEntry, GOOD)
    assert plain == ShardEntry(**GOOD)
    assert _entry(ShardEntry, {**GOOD, "future_field": 1}) == plain


class _Int(int):
    pass


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.sampled_from([None, True, False, 0, 3, 2.5, float("nan"), "", "x", _Int(2), b"b", [1]]),
                       max_size=6))
def test_group_kinds_agree_with_kind(values):
    from datagen.reader.filter_values import group_kinds, kind

    got = group_kinds(["a"], [{"a": v} for v in values] + [{}])
    assert got == {"a": {kind(v) for v in values} - {"null", "other"}}
