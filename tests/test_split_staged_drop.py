"""The staged files are deleted in the background once the write step is done (staged_drop.py, issue
14): by the time the staging tree is removed none is left, the shards are those of any run, and a
split that fails after the write step still leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from datagen.contract.errors import ConservationError
from splitters import journal
from splitters import split as split_module
from splitters.config import SplitConfig
from splitters.staged_drop import StagedDrop


def _cfg(src, out, **kw):
    return SplitConfig(inputs=[str(src)], out=str(out), time_column="event_time", group_by=["month", "day"],
                       label="label", progress=False, **kw)


def test_drop_deletes_the_listed_files_and_skips_absent_ones(tmp_path):
    files = [tmp_path / f"u{i}.arrow" for i in range(5)]
    for f in files[:4]:
        f.write_bytes(b"x" * 1000)
    keep = tmp_path / "shard.parquet"
    keep.write_bytes(b"y")
    with StagedDrop([str(f) for f in files]) as drop:
        pass
    drop.join()   # joining again is harmless
    assert drop.deleted == 4 and not any(f.exists() for f in files) and keep.exists()
    StagedDrop([]).join()   # nothing to delete: no thread


@pytest.mark.parametrize("workers", [1, 2])
def test_no_staged_file_is_left_when_the_staging_tree_is_removed(sample_parquet, tmp_path, monkeypatch, workers):
    seen = []
    recover = journal.recover

    def noting(out, *args, **kwargs):
        staging = out / journal.STAGING
        seen.append(sorted(p.name for p in staging.glob("*.arrow")) if staging.exists() else None)
        return recover(out, *args, **kwargs)

    monkeypatch.setattr(journal, "recover", noting)
    s = split_module.run_split(_cfg(sample_parquet, tmp_path / "out", workers=workers))
    assert s.status == "written" and [x for x in seen if x is not None] == [[]]   # gone before the clean-up
    monkeypatch.setattr(journal, "recover", recover)
    split_module.run_split(_cfg(sample_parquet, tmp_path / "again", workers=3 - workers))
    shards = [json.loads((tmp_path / d / "manifest.json").read_text())["shards"]["sha256"] for d in ("out", "again")]
    assert shards[0] == shards[1]


def test_a_failure_after_the_write_step_leaves_nothing(sample_parquet, tmp_path, monkeypatch):
    def failing(*args):
        raise ConservationError("made to fail after the write step")

    monkeypatch.setattr(split_module, "check_conservation", failing)
    out = tmp_path / "out"
    with pytest.raises(ConservationError):
        split_module.run_split(_cfg(sample_parquet, out))
    assert not out.exists() or sorted(p.name for p in out.iterdir()) in ([], [".datagen.lock"])
