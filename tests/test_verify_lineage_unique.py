"""datagen verify (full) refuses a dataset whose shards repeat a lineage row: a hard-linked copy of a
shard listed as another part, or under another group, passes every per-shard check otherwise."""

from __future__ import annotations

import json
import os

from datagen.contract import manifest as M
from manifest_trust_cases import two_versions
from manifest_edit import load  # shards as entries, written back as the format's table


def _add_copy(out, new_path, group=None):
    data = load((out / "manifest.json"))
    s = dict(data["shards"][0])
    os.makedirs(out / os.path.dirname(new_path), exist_ok=True)
    os.link(out / s["path"], out / new_path)
    s["path"] = new_path
    if group is not None:
        s["group"] = group
    data["shards"].append(s)
    t = data["totals"]
    t["rows_written"] += s["rows"]; t["rows_read"] += s["rows"]; t["shards"] += 1; t["bytes"] += s["bytes"]
    t["groups"] = len({json.dumps(x["group"], sort_keys=True) for x in data["shards"]})
    data["sources"][0]["rows_read"] += s["rows"]
    (out / "manifest.json").write_text(M.manifest_text(M.typed_manifest(data)))


def test_a_hard_linked_copy_as_another_part_is_refused(tmp_path, run_split, run_datagen):
    out = two_versions(tmp_path, run_split)
    first = load((out / "manifest.json"))["shards"][0]["path"]
    _add_copy(out, first.replace("part-00000", "part-00007"))
    M.read_manifest(out)  # a valid manifest: only the lineage tells
    assert run_datagen("verify", "--quick", out).exit_code == 0
    r = run_datagen("verify", out)
    assert r.exit_code != 0 and "source 0" in r.output and "again" in r.output, r.output
    assert "Traceback" not in r.output


def test_a_copy_under_another_group_is_refused(tmp_path, run_split, run_datagen):
    out = two_versions(tmp_path, run_split, days=2)
    data = load((out / "manifest.json"))
    first = data["shards"][0]
    key = next(iter(first["group"]))
    assert isinstance(first["group"][key], int)  # day of month, directory day=01
    path = first["path"].replace(first["path"].split("/")[0], f"{key}=28", 1)
    _add_copy(out, path, group={key: 28})
    M.read_manifest(out)
    assert run_datagen("verify", "--quick", out).exit_code == 0
    r = run_datagen("verify", out)
    assert r.exit_code != 0 and "again" in r.output, r.output


def test_a_sound_dataset_still_verifies(tmp_path, run_split, run_datagen):
    out = two_versions(tmp_path, run_split)
    r = run_datagen("verify", out)
    assert r.exit_code == 0, r.output


def test_compact_refuses_parts_that_repeat_a_lineage_row(tmp_path, run_split, run_datagen):
    out = two_versions(tmp_path, run_split)
    first = load((out / "manifest.json"))["shards"][0]["path"]
    _add_copy(out, first.replace("part-00000", "part-00007"))
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    r = run_datagen("compact", out)
    assert r.exit_code != 0 and "compact refused" in r.output and "again" in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert json.loads((out / "manifest.json").read_text())["version"] == 2
