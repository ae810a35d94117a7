"""An --overwrite that would change nothing commits nothing and says so (not "replaced")."""

import numpy as np
import pandas as pd

from datagen.contract.manifest import read_manifest


def test_identical_overwrite_says_up_to_date_and_commits_nothing(tmp_path, run_split):
    rng = np.random.default_rng(0)
    pd.DataFrame({"ts": pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 3 * 86_400, 50), "s"),
                  "g": rng.choice(["a", "b"], 50), "x": rng.normal(size=50),
                  "label": rng.integers(0, 2, 50)}).to_parquet(tmp_path / "a.parquet")
    args = [tmp_path / "a.parquet", "--out", tmp_path / "ds", "--time-column", "ts", "--group-by", "day,g",
            "--label", "label"]
    assert run_split(*args).exit_code == 0
    before = (tmp_path / "ds" / "manifest.json").read_bytes()
    r = run_split(*args, "--overwrite")
    assert r.exit_code == 0, r.output
    assert "up to date: the overwrite would change nothing (version 1" in r.output
    assert "replaced" not in r.output and "written:" not in r.output
    assert (tmp_path / "ds" / "manifest.json").read_bytes() == before
    assert read_manifest(tmp_path / "ds").number == 1
    assert sorted(p.name for p in (tmp_path / "ds" / "_versions").iterdir()) == ["00000001.json"]
    pd.DataFrame({"ts": [pd.Timestamp("2024-07-01")], "g": ["a"], "x": [1.0], "label": [1]}).to_parquet(
        tmp_path / "a.parquet")
    r = run_split(*args, "--overwrite")
    assert "replaced:" in r.output and read_manifest(tmp_path / "ds").number == 2
