"""Odd but valid floats and failing writes, as a user meets them on the command line: a column
holding +inf and -inf (or overflowing sums) splits silently even with warnings as errors, and a
write the filesystem refuses (a file too large) is one line naming the file under --out, never
the input, with nothing left that looks like a result."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.contract.errors import ConfigError
from datagen.contract.nancount import count_nan
from splitters.config import SplitConfig, physical_memory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(*args, cwd, env=None, file_limit=None):
    def limit():
        if file_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))
    return subprocess.run([sys.executable, "-m", "splitters.cli", "--no-progress", *map(str, args)], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": ROOT, **(env or {})}, capture_output=True, text=True,
                          preexec_fn=limit, timeout=300)


def _table(rows: int, x, groups: int = 2) -> pa.Table:
    return pa.table({"t": pa.array(np.arange(rows) * 1_000_000, pa.timestamp("us", tz="UTC")),
                     "g": np.arange(rows) % groups, "x": x})


@pytest.mark.parametrize("x", [[np.inf, -np.inf, 1.0, 2.0], [1e308, 1e308, 1.0, np.nan]])
def test_infinities_and_overflowing_sums_split_silently_with_warnings_as_errors(tmp_path, x):
    pq.write_table(_table(4, x, groups=1), tmp_path / "w.parquet")   # one shard: its sum meets inf - inf
    r = _cli("--out", "o", "w.parquet", "--time-column", "t", "--group-by", "g", cwd=tmp_path,
             env={"PYTHONWARNINGS": "error"})
    assert r.returncode == 0, r.stderr
    assert "Warning" not in r.stderr
    want = int(np.isnan(np.array(x)).sum())
    counted = sum(count_nan(pq.read_table(p).column("x")) for p in (tmp_path / "o").rglob("*.parquet"))
    assert counted == want


def _failed_line(r) -> str:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


@pytest.mark.parametrize("staging", ["staged files", "staged in memory"])
def test_a_file_too_large_is_one_line_naming_the_output_file(tmp_path, staging):
    rng = np.random.default_rng(3)
    pq.write_table(_table(400_000, rng.normal(size=400_000)), tmp_path / "big.parquet")   # shards of 1.6 MB of x
    extra = ["--staging-memory", "256MiB"] if staging == "staged in memory" else []
    r = _cli("--out", "o", "big.parquet", "--time-column", "t", "--group-by", "g", "--compression", "none", *extra,
             cwd=tmp_path, file_limit=1_000_000)   # the input (written above) is larger: it is only read
    line = _failed_line(r)
    assert line.startswith("error: cannot write ") and "File too large" in line, line
    assert str(tmp_path / "o") in line and "big.parquet" not in line, "the input is not at fault"
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("*.parquet")), "nothing half-written"
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_staging_memory_where_it_would_do_nothing_or_too_much_is_refused():
    with pytest.raises(ConfigError, match="only for a local --out on the local scheduler.*--scheduler tcp"):
        SplitConfig(inputs=["x"], out="o", staging_memory="1GB", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="only for a local --out.*--out s3://b/d"):
        SplitConfig(inputs=["x"], out="s3://b/d", staging_memory="1GB")
    with pytest.raises(ConfigError, match="at most half of this machine's memory"):
        SplitConfig(inputs=["x"], out="o", staging_memory=physical_memory())
    assert SplitConfig(inputs=["x"], out="s3://b/d", staging_memory=0).staging_memory == 0


def test_staging_memory_refusal_exits_2(tmp_path):
    pq.write_table(_table(4, [1.0, 2.0, 3.0, 4.0]), tmp_path / "w.parquet")
    r = _cli("--out", "o", "w.parquet", "--time-column", "t", "--group-by", "g", "--staging-memory", "100000GB",
             cwd=tmp_path)
    assert r.returncode == 2 and "staging_memory" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()
