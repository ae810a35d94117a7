"""Opening a dataset checks manifest.json in full every time: no version record vouches for it (a
forged mark, a FIFO in _versions/, a hand-edited created_at), and a replayed version is validated by
the shard rules even when its text matches a recorded hash."""

from __future__ import annotations

import json
import os

import pytest

from cli_checks import cli_process
from datagen.contract import manifest as M
from datagen.contract.errors import ManifestError
from manifest_trust_cases import forge_mark, two_versions
from manifest_edit import load  # shards as entries, written back as the format's table


def _duplicate_first_shard(out):
    data = load((out / "manifest.json"))
    s = dict(data["shards"][0])
    data["shards"].append(s)
    t = data["totals"]
    t["rows_written"] += s["rows"]; t["rows_read"] += s["rows"]; t["shards"] += 1; t["bytes"] += s["bytes"]
    data["sources"][0]["rows_read"] += s["rows"]
    (out / "manifest.json").write_text(M.manifest_text(M.typed_manifest(data)))


def test_a_forged_mark_does_not_let_a_duplicate_shard_path_open(tmp_path, run_split, run_datagen):
    out = two_versions(tmp_path, run_split)
    _duplicate_first_shard(out)
    forge_mark(out)
    with pytest.raises(ManifestError, match="listed twice"):
        M.read_manifest(out)
    for cmd in (["show", out], ["verify", "--quick", out]):
        r = run_datagen(*cmd)
        assert r.exit_code != 0 and "listed twice" in r.output, (cmd, r.output)


def test_old_records_with_the_mark_still_read(tmp_path, run_split, run_datagen):
    out = two_versions(tmp_path, run_split)
    forge_mark(out)  # the honest mark an earlier version wrote: ignored, the record reads as before
    assert M.read_manifest(out).number == 2
    r = run_datagen("log", out)
    assert r.exit_code == 0 and "record damaged" not in r.output, r.output
    assert M.read_manifest_with_hash(out, version=1)[0].number == 1


def test_a_created_at_edit_is_checked_not_vouched(tmp_path, run_split):
    out = two_versions(tmp_path, run_split)
    forge_mark(out)
    raw = (out / "manifest.json").read_bytes()
    (out / "manifest.json").write_bytes(raw.replace(b'"created_at": "', b'"created_at": "not a time ', 1))
    with pytest.raises(ManifestError, match="created_at"):
        M.read_manifest(out)


def test_a_fifo_as_a_record_neither_hangs_an_open_nor_log(tmp_path, run_split):
    out = two_versions(tmp_path, run_split)
    rec = out / "_versions" / "00000002.json"
    rec.unlink()
    os.mkfifo(rec)
    p = cli_process("datagen.app.cli", "show", out, timeout=120)
    assert p.returncode == 0, p.stderr
    p = cli_process("datagen.app.cli", "log", out, timeout=120)
    assert p.returncode != 0 and "not a regular file" in p.stdout + p.stderr, (p.stdout, p.stderr)


def test_a_replay_matching_its_recorded_hash_is_still_validated(tmp_path, run_split, monkeypatch):
    """A version whose replayed text matches the hash its successor recorded is validated by the shard
    rules before it is handed out (the checks are not skipped)."""
    from datagen.contract import version_check

    out = two_versions(tmp_path, run_split)
    seen = []
    real = version_check.manifest_from_dict
    monkeypatch.setattr(version_check, "manifest_from_dict", lambda d, origin="": seen.append(origin) or real(d, origin))
    manifest, sha = M.read_manifest_with_hash(out, version=1)
    assert manifest.number == 1 and any("version 1, replayed" in o for o in seen)
    assert sha == json.loads((out / "_versions" / "00000002.json").read_text())["parent_manifest_sha256"]


def test_an_append_after_the_version_was_edited_down_keeps_the_committed_record(tmp_path, run_split):
    import pandas as pd

    out = two_versions(tmp_path, run_split)
    raw = (out / "manifest.json").read_text()
    (out / "manifest.json").write_text(raw.replace('"version": 2,', '"version": 1,', 1)
                                       .replace("_versions/00000002.json", "_versions/00000001.json", 1))
    assert M.read_manifest(out).number == 1   # a valid manifest, just not the newest record's version
    record2 = (out / "_versions" / "00000002.json").read_bytes()
    c = tmp_path / "c.parquet"
    pd.DataFrame({"t": pd.date_range("2024-03-01", periods=24, freq="h", tz="UTC"), "x": range(24),
                  "y": [0, 1] * 12}).to_parquet(c)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    r = run_split(c, "--out", out, "--append")
    assert r.exit_code != 0 and "refused" in r.output and "00000002.json" in r.output, r.output
    assert "Traceback" not in r.output
    assert (out / "_versions" / "00000002.json").read_bytes() == record2
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_show_version_current_checks_the_record_against_manifest_json(tmp_path, run_split, run_datagen):
    """A one-second created_at edit of manifest.json is a valid manifest, but no longer the one the current
    record replays to: log says manifest.json differs, and show --version 2 refuses it."""
    out = two_versions(tmp_path, run_split)
    raw = json.loads((out / "manifest.json").read_text())
    stamp = raw["created_at"]
    edited = stamp[:18] + ("1" if stamp[18] != "1" else "2") + stamp[19:]
    (out / "manifest.json").write_text((out / "manifest.json").read_text().replace(stamp, edited, 1))
    assert M.read_manifest(out).number == 2
    r = run_datagen("log", out)
    assert "manifest.json differs" in r.output and "a record was changed by hand" not in r.output, r.output
    r = run_datagen("show", "--version", "2", out)
    assert r.exit_code != 0 and "manifest.json differs" in r.output and "Traceback" not in r.output, r.output


def test_a_missing_successor_record_names_the_version_asked_for(tmp_path, run_split):
    out = two_versions(tmp_path, run_split)
    (out / "_versions" / "00000002.json").unlink()
    with pytest.raises(ManifestError) as err:
        M.read_manifest_with_hash(out, version=1)
    assert str(err.value).startswith("version 1 of") and "\n" not in str(err.value)
