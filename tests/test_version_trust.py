"""datagen log / show --version / version=N check the version records' chain (version_check.py):
a hand-edited or deleted record is marked and refused; a vacuumed version is said to be one."""


import numpy as np
import pandas as pd
import pytest

from datagen.contract.errors import ManifestError
from datagen.contract.manifest import read_manifest_with_hash
from manifest_edit import dump, load  # shards as entries, written back as the format's table

ARGS = ["--time-column", "ts", "--group-by", "day,g", "--label", "label"]


def day(path, d, seed):
    rng = np.random.default_rng(seed)
    pd.DataFrame({"ts": pd.Timestamp("2024-06-01") + pd.Timedelta(days=d) + pd.to_timedelta(
        rng.integers(0, 86_400, 40), "s"), "g": rng.choice(["a", "b"], 40), "x": rng.normal(size=40),
        "label": rng.integers(0, 2, 40)}).to_parquet(path)
    return path


@pytest.fixture
def three(tmp_path, run_split):
    """v1 split of a, v2 overwrite with b, v3 append of c."""
    out = tmp_path / "ds"
    a, b, c = day(tmp_path / "a.parquet", 0, 1), day(tmp_path / "b.parquet", 3, 2), day(tmp_path / "c.parquet", 6, 3)
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    assert run_split(b, *ARGS, "--out", out, "--overwrite").exit_code == 0
    assert run_split(c, "--out", out, "--append").exit_code == 0
    return out


def edit(out, n, change):
    path = out / "_versions" / f"{n:08d}.json"
    rec = load(path)
    change(rec)
    path.write_text(dump(rec, separators=(",", ":")) + "\n")


def log_lines(run_datagen, out, code):
    r = run_datagen("log", out)
    assert r.exit_code == code, r.output
    lines = r.stdout.strip().splitlines()
    assert [int(line.split()[0]) for line in lines] == [1, 2, 3]
    return lines


def test_intact_log_is_clean(three, run_datagen):
    lines = log_lines(run_datagen, three, 0)
    assert not any("[" in line for line in lines)
    assert read_manifest_with_hash(three, 1)[0].number == 1


@pytest.mark.parametrize("n, change", [
    (3, lambda r: r.update(shards_added=r["shards_added"][:1])),     # the current record, cut
    (2, lambda r: r.update(command="append")),                        # an edited command
    (1, lambda r: r.update(shards_added=r["shards_added"][:1])),
])
def test_edited_record_is_marked_damaged_and_refused(three, run_datagen, n, change):
    edit(three, n, change)
    lines = log_lines(run_datagen, three, 1)
    assert "record damaged" in lines[n - 1], lines
    if n < 3:   # the current version is manifest.json itself; an older one is refused from its record on
        r = run_datagen("show", three, "--version", n)
        assert r.exit_code == 1 and "cannot be trusted" in r.stderr and "\n" not in r.stderr.strip()
        with pytest.raises(ManifestError, match="cannot be trusted"):
            read_manifest_with_hash(three, 2)
    if n > 1:   # an earlier version still checks out (its successor's parent hash is intact)
        assert read_manifest_with_hash(three, 1)[0].number == 1


def test_deleted_record_is_reported_missing_and_the_others_listed(three, run_datagen):
    (three / "_versions" / "00000002.json").unlink()
    lines = log_lines(run_datagen, three, 1)
    assert "record missing" in lines[1] and "split" in lines[0] and "append" in lines[2]
    with pytest.raises(ManifestError, match="version 2 .*record missing"):
        read_manifest_with_hash(three, 2)


def test_vacuumed_version_is_marked_and_refused(three, run_datagen, tmp_path):
    from datagen import DataGenerator

    assert run_datagen("vacuum", three, "--keep", "1").exit_code == 0
    lines = log_lines(run_datagen, three, 0)
    assert "files vacuumed" in lines[0] and "files vacuumed" not in lines[2]
    r = run_datagen("show", three, "--version", 1)
    assert r.exit_code == 1 and "version 1" in r.stderr and "was vacuumed" in r.stderr
    with pytest.raises(ManifestError, match="was vacuumed"):
        DataGenerator(three, ["x"], label="label", batch_size=8, version=1)
