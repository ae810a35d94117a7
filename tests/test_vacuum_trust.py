"""datagen vacuum never trusts damaged records: a record listing paths outside DIR (a sibling directory
whose name starts with DIR's) or a user's file is refused in one line, nothing deleted."""

from __future__ import annotations

import shutil

from cli_checks import fails
from manifest_trust_cases import two_versions
from manifest_edit import dump, load  # shards as entries, written back as the format's table


def test_vacuum_refuses_records_listing_files_outside_its_shards(tmp_path, run_split, run_datagen):
    base = two_versions(tmp_path, run_split)
    v = tmp_path / "V"
    shutil.copytree(base, v)
    sib = tmp_path / "V-sib"
    sib.mkdir()
    (sib / "precious.parquet").write_bytes(b"precious")
    (v / "mine").mkdir()
    (v / "mine" / "notes.parquet").write_bytes(b"notes")
    r1, r2 = v / "_versions" / "00000001.json", v / "_versions" / "00000002.json"
    rec = load(r1)
    for p in ("../V-sib/precious.parquet", "mine/notes.parquet"):
        rec["shards_added"].append({**rec["shards_added"][0], "path": p})
    r1.write_text(dump(rec))
    rec = load(r2)
    rec["shards_removed"] += ["../V-sib/precious.parquet", "mine/notes.parquet"]
    r2.write_text(dump(rec))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    fails(run_datagen("vacuum", v, "--keep", "1"), 1, "vacuum refused")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_vacuum_refuses_a_record_removing_a_path_that_escapes(tmp_path, run_split, run_datagen):
    """A path only in shards_removed (no record added it) is never deleted."""
    v = two_versions(tmp_path, run_split)
    rec_path = v / "_versions" / "00000002.json"
    rec = load(rec_path)
    rec["shards_removed"].append("../outside.parquet")
    rec_path.write_text(dump(rec))
    (tmp_path / "outside.parquet").write_bytes(b"x")
    r = run_datagen("vacuum", v, "--keep", "1")
    assert (tmp_path / "outside.parquet").exists() and "Traceback" not in r.output


def test_vacuum_of_a_sound_dataset_still_deletes_old_shards(tmp_path, run_split, run_datagen):
    v = two_versions(tmp_path, run_split)
    r = run_datagen("vacuum", v, "--keep", "2")
    assert r.exit_code == 0 and "0 shard files" in r.output, r.output
