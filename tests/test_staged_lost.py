"""A staged file that cannot be read back (deleted, truncated or overwritten under the run by another
process, or a failing disk) is one error naming that file, from the direct and the ordinary staged layouts alike,
with no dataset committed: never "internal error", never a "cannot write" that blames the output."""

from __future__ import annotations

import errno
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.contract.errors import OutputError
from splitters import split as split_module
from splitters import staged_writes
from splitters.config import SplitConfig
from splitters.split import run_split


def _source(tmp_path):
    rng = np.random.default_rng(5)
    src = tmp_path / "in"
    src.mkdir()
    for k in range(2):
        n = 3000
        frame = pd.DataFrame({"t": pd.to_datetime(rng.integers(0, 60 * 86_400, n), unit="s", utc=True),
                              "x": rng.normal(size=n), "label": rng.integers(0, 2, n)})
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), src / f"p{k}.parquet",
                       row_group_size=1000)
    return src


@pytest.mark.parametrize("layout", ["ordinary", "direct"])
@pytest.mark.parametrize("harm", ["deleted", "truncated", "zeroed", "garbled"])
def test_a_staged_file_lost_before_the_write_step_is_one_error_naming_it(tmp_path, monkeypatch, layout, harm):
    src = _source(tmp_path)
    monkeypatch.setattr(staged_writes, "writeback_start", lambda: 0 if layout == "direct" else 1 << 40)
    real, harmed = split_module.read_ahead, []

    def read_ahead(staging_dir, tasks):   # between the stage and the write steps
        victim = tasks[0][0].slices[0][0]   # the first group's first staged file
        size = os.path.getsize(victim)
        if harm == "deleted":
            os.unlink(victim)
        elif harm == "truncated":
            os.truncate(victim, 100)
        else:   # the same size, other bytes: zeros, or noise
            with open(victim, "r+b") as fh:
                fh.write(bytes(size) if harm == "zeroed" else np.random.default_rng(1).bytes(size))
        harmed.append(victim)
        return real(staging_dir, tasks)

    monkeypatch.setattr(split_module, "read_ahead", read_ahead)
    out = tmp_path / "out"
    with pytest.raises(OutputError) as info:
        run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="t", group_by=["month"],
                              label="label", progress=False, workers=2, memory_limit=64 << 20))
    message = str(info.value)
    assert harmed and f"cannot read the staged file {harmed[0]!r} back" in message, message
    assert "\n" not in message and "cannot write" not in message
    assert not (out / "manifest.json").exists()


def test_a_failing_disk_under_a_direct_read_names_the_file_and_the_reason(tmp_path, monkeypatch):
    from splitters import staged_direct

    src = _source(tmp_path)
    monkeypatch.setattr(staged_writes, "writeback_start", lambda: 0)

    def preadv(fd, buffers, offset):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(staged_direct.os, "preadv", preadv)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=r"cannot read the staged file '.*\.arrow' back: Input/output error"):
        run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="t", group_by=["month"],
                              label="label", progress=False, workers=2, memory_limit=64 << 20))
    assert not (out / "manifest.json").exists()
