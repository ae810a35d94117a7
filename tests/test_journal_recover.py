"""Recovery of a killed first split leaves an empty --out that a rerun accepts, wherever the kill fell
inside the commit (the fault-injection test reaches these points only when its op count lines up)."""

from __future__ import annotations

import os

import pytest

from datagen.contract.versions import VERSIONS_DIR
from splitters import journal

RECORD = f"{VERSIONS_DIR}/00000001.json"


def _killed_commit(out, *, record_tmp: bool, record: bool, manifest_tmp: bool):
    out.mkdir()
    journal.start(out)
    journal.announce(out, "0" * 64, ["day=1/part-00000-aaaa.parquet"], ["day=1"], [], [RECORD])
    (out / "day=1").mkdir()
    (out / "day=1" / "part-00000-aaaa.parquet").write_bytes(b"PAR1")
    os.mkdir(out / VERSIONS_DIR)
    if record:
        (out / RECORD).write_text("{}")
    if record_tmp:
        (out / VERSIONS_DIR / journal.RECORD_TMP).write_text("{\"half")
    if manifest_tmp:
        (out / journal.MANIFEST_TMP).write_text("{\"half")


@pytest.mark.parametrize("record_tmp,record,manifest_tmp", [
    (True, False, False),   # killed while writing the version record
    (False, True, False),   # killed after the record, before the manifest's temporary file
    (False, True, True),    # killed while writing the manifest
    (True, True, True),
    (False, False, False),  # killed right after making _versions/
])
def test_a_killed_first_commit_rolls_back_to_an_empty_directory(tmp_path, record_tmp, record, manifest_tmp):
    out = tmp_path / "out"
    _killed_commit(out, record_tmp=record_tmp, record=record, manifest_tmp=manifest_tmp)
    assert journal.recover(out) == "rolled back"
    assert os.listdir(out) == []
