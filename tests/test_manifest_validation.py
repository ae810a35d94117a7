"""A bad manifest.json is refused in one line (exit 1, no traceback) by datagen show, verify,
provenance and DataGenerator; random mutations of a valid manifest are accepted consistently
or refused with ManifestError, never another exception."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datagen
from datagen.contract.errors import ManifestError
from datagen.contract.manifest import decode_manifest, manifest_from_dict, read_manifest, read_manifest_with_hash
from gen_fixtures import FEATURES
from manifest_edit import dump, load


def _shard(i, **change):
    def mutate(d):
        d["shards"][i].update(change)
    return mutate


def _set(*keys, value):
    def mutate(d):
        target = d
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return mutate


def _dup_path(d):
    d["shards"][1]["path"] = d["shards"][0]["path"]


def _wrong_dir(d):
    d["shards"][0]["group"]["month"] = 5


def _rows_written(d):
    d["totals"]["rows_written"] += 1


def _drop_sha(d):
    del d["shards"][0]["sha256"]


def _label_counts(d):
    d["shards"][0]["label_counts"] = {"0": 1}


def _dropped_too_many(d):
    d["sources"][0]["rows_dropped"] = d["sources"][0]["rows_read"] + 1


def _raw(text: bytes):
    return text


DEEP = b"[" * 100_000 + b"]" * 100_000

# (case id, a mutation of the decoded manifest, or the raw bytes to write)
CASES = [
    ("bytes-10**400", _shard(0, bytes=10**400)),
    ("row_groups-string", _shard(0, row_groups="x")),
    ("row_groups-empty", _shard(0, row_groups=[])),
    ("row_groups-zero", _shard(0, row_groups=[0, 1000])),
    ("path-int", _shard(0, path=5)),
    ("path-nul", _shard(0, path="month=01/part\x00-00000.parquet")),
    ("path-newline", _shard(0, path="month=01/part\n.parquet")),
    ("path-segment-300-bytes", _shard(0, path="month=01/" + "p" * 300 + ".parquet")),
    ("path-over-4096-bytes", _shard(0, path="/".join(["d" * 200] * 25) + "/x.parquet")),
    ("path-escapes", _shard(0, path="../outside.parquet")),
    ("path-absolute", _shard(0, path="/etc/passwd")),
    ("path-backslash", _shard(0, path="month=01\\part-00000.parquet")),
    ("path-lone-surrogate", _shard(0, path="month=01/\ud800.parquet")),
    ("duplicate-shard-path", _dup_path),
    ("shard-in-another-group-dir", _wrong_dir),
    ("negative-rows", _shard(0, rows=-1)),
    ("negative-source-bytes", _set("sources", 0, "bytes", value=-5)),
    ("bool-as-int", _shard(0, part=True)),
    ("float-as-int", _shard(0, rows=1000.0)),
    ("nan-count", _set("totals", "rows_read", value=float("nan"))),
    ("infinity-bytes", _set("sources", 0, "bytes", value=float("inf"))),
    ("nan-in-config", _set("config", "row_group_size", value=float("nan"))),
    ("totals-disagree", _rows_written),
    ("totals-shards-disagree", _set("totals", "shards", value=3)),
    ("group-keys-wrong", _shard(0, group={"mnth": 1})),
    ("group-keys-extra", _shard(0, group={"month": 1, "day": 2})),
    ("group-value-type", _shard(0, group={"month": "january"})),
    ("group-not-object", _shard(0, group=[1])),
    ("format-version-3", _set("format_version", value=3)),
    ("format-version-1-with-a-table", "v1table"),
    ("format-version-string", _set("format_version", value="1")),
    ("missing-sha256", _drop_sha),
    ("sha256-not-hex", _shard(0, sha256="z" * 64)),
    ("label-counts-disagree", _label_counts),
    ("dropped-exceeds-read", _dropped_too_many),
    ("no-sources", _set("sources", value=[])),
    ("no-shards", _set("shards", value=[])),
    ("source-id-gap", _set("sources", 0, "id", value=7)),
    ("source-id-2^40", _set("sources", 0, "id", value=2**40)),
    ("schema-not-list", _set("schema", value={"a": 1})),
    ("lineage-column-renamed", _set("lineage_columns", value={"source_id": "nope", "source_row": "_source_row"})),
    ("lineage-column-not-in-schema", lambda d: d.update(schema=[c for c in d["schema"] if c["name"] != "_source_id"])),
    ("created-at-not-time", _set("created_at", value="yesterday")),
    ("tool-version-null", _set("tool_version", value=None)),
    ("shards-not-list", _set("shards", value="all")),
    ("deeply-nested-json", _raw(DEEP)),
    ("deeply-nested-config", _set("config", "x", value=json.loads("[" * 500 + "]" * 500))),
    ("invalid-utf8", _raw(b'{"format_version": 1, "tool_version": "\xff\xfe"}')),
    ("top-level-array", _raw(b"[1, 2, 3]")),
    ("top-level-string", _raw(b'"manifest"')),
    ("empty-file", _raw(b"")),
    ("not-json", _raw(b"{format_version: 1")),
    ("5000-digit-integer", _raw(b'{"format_version": ' + b"9" * 5000 + b"}")),
    ("duplicate-json-key", "dupkey"),
]


def _copy(dataset, tmp_path) -> Path:
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    return copy


def _corrupt(copy: Path, how) -> None:
    path = copy / "manifest.json"
    if isinstance(how, bytes):
        path.write_bytes(how)
    elif how == "dupkey":
        text = path.read_text()
        version = json.loads(text)["format_version"]
        path.write_text(text.replace(f'"format_version": {version},',
                                     f'"format_version": {version}, "format_version": {version},', 1))
    elif how == "v1table":  # format 1 has no shard table: a table under format_version 1 is refused
        data = json.loads(path.read_text())
        assert isinstance(data["shards"], dict)
        path.write_text(json.dumps({**data, "format_version": 1}))
    else:
        data = load(path)   # shards as entries; written back as the format's table when they form one
        how(data)
        path.write_text(dump(data))


COMMANDS = [("show",), ("show", "--json"), ("verify",), ("verify", "--quick"),
            ("provenance", "--features", "f0,f1", "--batch", "0")]


@pytest.mark.parametrize("how", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_manifest_is_one_line_everywhere(dataset, tmp_path, run_datagen, how):
    from datagen import DataGenerator

    copy = _copy(dataset, tmp_path)
    _corrupt(copy, how)
    for command in COMMANDS:
        r = run_datagen(command[0], copy, *command[1:])
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 1, (command, r.output)
        assert len(lines) == 1 and lines[0].startswith("error: ") and "manifest.json" in lines[0], (command, r.stderr)
        assert "Traceback" not in r.output and r.stdout == ""
    with pytest.raises(ManifestError, match="manifest.json"):
        DataGenerator(copy, FEATURES, label="label")
    with pytest.raises(ManifestError):
        read_manifest(copy)


@pytest.mark.parametrize("how", [_shard(0, bytes=10**400), _raw(DEEP), _shard(0, path="a\x00b/c.parquet")],
                         ids=["bytes-10**400", "deep", "nul"])
def test_bad_manifest_subprocess_prints_no_traceback(dataset, tmp_path, how):
    copy = _copy(dataset, tmp_path)
    _corrupt(copy, how)
    env = {**os.environ, "PYTHONPATH": str(Path(datagen.__file__).parents[1])}
    for command in (("show",), ("verify",)):
        r = subprocess.run([sys.executable, "-m", "datagen.app.cli", command[0], str(copy)], capture_output=True,
                           text=True, env=env, timeout=120)
        assert r.returncode == 1, r.stderr
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")


def test_manifest_is_a_directory_or_missing(dataset, tmp_path, run_datagen):
    copy = _copy(dataset, tmp_path)
    (copy / "manifest.json").unlink()
    (copy / "manifest.json").mkdir()
    for command in COMMANDS:
        r = run_datagen(command[0], copy, *command[1:])
        assert r.exit_code == 1 and "not a regular file" in r.stderr and len(r.stderr.splitlines()) == 1
    afile = tmp_path / "afile"
    afile.write_text("x")
    r = run_datagen("show", afile)
    assert r.exit_code == 1 and "not a directory" in r.stderr


def test_one_read_gives_manifest_and_hash_of_the_same_bytes(dataset):
    import hashlib

    m, digest = read_manifest_with_hash(dataset)
    assert digest == hashlib.sha256((dataset / "manifest.json").read_bytes()).hexdigest()
    assert m == read_manifest(dataset)


def test_messages_name_the_field_and_shorten_huge_values(dataset, tmp_path):
    copy = _copy(dataset, tmp_path)
    _corrupt(copy, _shard(3, bytes=10**400))
    with pytest.raises(ManifestError) as info:
        read_manifest(copy)
    text = str(info.value)
    assert "shards[3].bytes: expected an integer 0..2^63-1" in text.replace("1..2^63-1", "0..2^63-1")
    assert "401 digits" in text and len(text) < 300
    _corrupt(copy, _shard(3, bytes=1, path="x" * 100_000))
    with pytest.raises(ManifestError) as info:
        read_manifest(copy)
    assert len(str(info.value)) < 400


# -- property: any mutation is accepted consistently or refused with ManifestError ----------------

ODD_VALUES = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.sampled_from([-1, 0, 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["", "..", "/", "a/../b", "x\x00y", "\ud800", "NaN", "1", "month=01"]),
    st.lists(st.integers(-2, 5), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _apply(data, path, action, new):
    if not path:
        return new if action == "replace" else data
    parent = data
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    if action == "replace":
        parent[key] = new
    elif action == "delete":
        del parent[key]
    elif action == "insert" and isinstance(parent, dict):
        parent[f"{key}_x"] = new
    elif action == "insert":
        parent.insert(key, new)
    return data


@st.composite
def mutated(draw, base):
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data)) if isinstance(data, (dict, list)) else [()]
        path = draw(st.sampled_from(paths))
        data = _apply(data, path, draw(st.sampled_from(["replace", "delete", "insert"])), draw(ODD_VALUES))
    return data


def _check_consistent(m):
    assert m.totals.rows_written == sum(s.rows for s in m.shards)
    assert m.totals.bytes == sum(s.bytes for s in m.shards)
    assert m.totals.shards == len(m.shards) and len({s.path for s in m.shards}) == len(m.shards)
    for s in m.shards:
        assert sum(s.row_groups) == s.rows and all(r > 0 for r in s.row_groups)
        assert isinstance(s.bytes, int) and 0 < s.bytes < 2**63 and not isinstance(s.bytes, bool)
        assert sorted(s.group) == sorted(m.group_names)
    assert [s.id for s in m.sources] == list(range(len(m.sources)))
    again = manifest_from_dict(json.loads(json.dumps(m.to_dict())), "again")  # still valid after a round trip
    assert again == m or any(isinstance(v, float) and math.isnan(v) for s in m.shards for v in s.group.values())


@pytest.fixture(scope="module")
def base_manifest(dataset):
    return json.loads((dataset / "manifest.json").read_text())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_manifests_are_accepted_consistently_or_refused(base_manifest, data):
    from datagen.app.show import render, summary

    value = data.draw(mutated(base_manifest))
    raw = json.dumps(value).encode("utf-8", "surrogatepass")
    try:
        m = manifest_from_dict(decode_manifest(raw, "m"), "m")
    except ManifestError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 1000
        return
    _check_consistent(m)
    render(m, "ds")
    json.dumps(summary(m))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_manifest_bytes_are_refused_or_consistent(base_manifest, data):
    raw = bytearray(json.dumps(base_manifest).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, len(raw) - 1))
        if kind == "flip":
            raw[at] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[at:at + data.draw(st.integers(1, 50))]
        else:
            raw[at:at] = data.draw(st.sampled_from([b"[", b"{", b"NaN", b"-", b"9" * 30, b'"', b"\\u0000", b"\xff"]))
        if not raw:
            raw = bytearray(b"{")
    try:
        m = manifest_from_dict(decode_manifest(bytes(raw), "m"), "m")
    except ManifestError:
        return
    _check_consistent(m)


def test_the_schema_declares_every_field():
    import dataclasses

    from datagen.contract.format import Manifest, ShardEntry, SourceEntry
    from datagen.contract.manifest_schema import MANIFEST, SHARD, SOURCE

    for spec, cls in ((MANIFEST, Manifest), (SOURCE, SourceEntry), (SHARD, ShardEntry)):
        assert spec.names == {f.name for f in dataclasses.fields(cls)}, cls.__name__
