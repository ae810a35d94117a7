"""Shared setup for the tests of what opening, vacuum, verify and append trust: a small two-version
dataset (a split by day with a label, then an append) and the old commit mark, computed as a forger would."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path


def two_versions(tmp_path: Path, run_split, days: int = 2) -> Path:
    """``tmp_path/ds``: version 1 a split of ``days`` days of hourly rows (one source), version 2 an append of
    one more day (a second source)."""
    import pandas as pd

    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    n = 24 * days
    pd.DataFrame({"t": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"), "x": range(n),
                  "y": [0, 1] * (n // 2)}).to_parquet(a)
    pd.DataFrame({"t": pd.date_range("2024-02-01", periods=24, freq="h", tz="UTC"), "x": range(24),
                  "y": [0, 1] * 12}).to_parquet(b)
    out = tmp_path / "ds"
    r = run_split(a, "--out", out, "--time-column", "t", "--group-by", "day", "--label", "y")
    assert r.exit_code == 0, r.output
    r = run_split(b, "--out", out, "--append")
    assert r.exit_code == 0, r.output
    return out


def forge_mark(out: Path) -> None:
    """Give the current version's record the ``manifest_content_sha256`` mark (third field) of the
    manifest.json now on disk: what earlier versions trusted to skip the shard checks."""
    raw = (out / "manifest.json").read_bytes()
    emptied = re.sub(rb'\n  "created_at": "[^"\\\n]*",\n', b'\n  "created_at": "",\n', raw, count=1)
    mark = hashlib.sha256(emptied).hexdigest()
    version = json.loads(raw)["version"]
    path = out / "_versions" / f"{version:08d}.json"
    rec = json.loads(path.read_text())
    rec.pop("manifest_content_sha256", None)
    items = list(rec.items())
    forged = dict(items[:2] + [("manifest_content_sha256", mark)] + items[2:])
    path.write_text(json.dumps(forged, ensure_ascii=False, separators=(",", ":")) + "\n")
