"""datagen compact (issue 15 item 2): the part files of a group merged into one shard, as a new version."""

import pandas as pd
import pyarrow.parquet as pq

from datagen import DataGenerator
from datagen.contract.manifest import read_manifest, read_manifest_with_hash
from datagen.contract.verify import verify_dataset
from test_append import ARGS, day_file, rows_of
from test_versions import batches, same


def test_compact_merges_parts_keeps_every_row_and_its_lineage(tmp_path, run_split, run_datagen):
    out = tmp_path / "ds"
    files = [day_file(tmp_path / f"d{i}.parquet", 10 * i, 45, 300, i) for i in range(4)]   # months 1-3 grow
    assert run_split(files[0], *ARGS, "--out", out).exit_code == 0
    for f in files[1:]:
        assert run_split(f, "--out", out, "--append").exit_code == 0
    before = read_manifest(out)
    rows_before = rows_of(out)
    gen = DataGenerator(out, ["x", "f"], label="y", batch_size=64, shuffle=True, seed=2)
    expected = batches(gen)
    r = run_datagen("compact", out)
    assert r.exit_code == 0, r.output
    after = read_manifest(out)
    assert after.version == before.version + 1
    dirs = {}
    for s in after.shards:
        dirs.setdefault(s.path.rsplit("/", 1)[0], []).append(s)
    assert all(len(v) == 1 for v in dirs.values())
    assert all((out / s.path).exists() for s in before.shards)          # nothing deleted
    pd.testing.assert_frame_equal(rows_of(out), rows_before)             # same rows, same lineage
    for s in after.shards:                                               # rows in time order
        t = pq.read_table(out / s.path).column("t").to_numpy()
        assert (t[1:] >= t[:-1]).all()
    assert verify_dataset(out).ok
    assert same(batches(gen), expected)                                  # the open generator reads on
    old = DataGenerator(out, ["x", "f"], label="y", batch_size=64, shuffle=True, seed=2, version=before.version)
    assert same(batches(old), expected)
    assert read_manifest_with_hash(out, before.version)[0] == before
    assert "compact" in run_datagen("log", out).output.splitlines()[-1]
    r = run_datagen("compact", out)
    assert r.exit_code == 0 and "nothing to compact" in r.output
    assert read_manifest(out).version == after.version


def test_compact_respects_max_rows_per_shard(tmp_path, run_split, run_datagen):
    out = tmp_path / "ds"
    files = [day_file(tmp_path / f"d{i}.parquet", 0, 20, 40, i) for i in range(5)]      # January only
    assert run_split(files[0], *ARGS, "--max-rows-per-shard", "100", "--out", out).exit_code == 0
    for f in files[1:]:
        assert run_split(f, "--out", out, "--append").exit_code == 0
    assert run_datagen("compact", out).exit_code == 0
    m = read_manifest(out)
    assert all(s.rows <= 100 for s in m.shards) and m.totals.rows_written == 200
    assert len(m.shards) == 3 and verify_dataset(out).ok
