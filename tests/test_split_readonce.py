"""A local Parquet source staged by one unit is read once for staging and its fingerprint
(stage_hashed.py): the manifest's source sha256 is still the file's own, the shards are the
ones the two-read path writes, and the sources that do not qualify are still fingerprinted."""

from __future__ import annotations


import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.contract.errors import ConservationError
from datagen.contract.hashing import sha256_file
from splitters.config import SplitConfig
from splitters.conservation import check_conservation
from splitters.plan import batch_rows_for, plan_units
from splitters.reduce import GroupJob, reduce_groups
from splitters.sources import discover
from splitters.split import run_split
from splitters.stage_hashed import hashed_units, read_and_hash
from manifest_edit import load  # shards as entries, written back as the format's table


def _table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 20 * 86_400, n) * 1_000_000
    return pa.table({"event_time": pa.array(t, pa.timestamp("us", tz="UTC")), "x": rng.normal(size=n),
                     "label": rng.integers(0, 2, n)})


def _inputs(tmp_path, csv=False):
    src = tmp_path / "in"
    src.mkdir()
    pq.write_table(_table(40_000, 1), src / "a.parquet", row_group_size=10_000)
    pq.write_table(_table(2000, 2), src / "b.parquet", row_group_size=500)
    if csv:
        (src / "c.csv").write_text("event_time,x,label\n2024-01-02T00:00:00Z,1.5,1\n")
    return src


def _split(src, out, memory_limit, workers):
    run_split(SplitConfig(inputs=[str(src)], out=str(out), time_column="event_time", group_by=["day"],
                          label="label", memory_limit=memory_limit, workers=workers, progress=False))
    manifest = load((out / "manifest.json"))
    return manifest["sources"], [(s["path"], s["sha256"]) for s in manifest["shards"]]


def test_read_and_hash_is_the_files_sha256(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(np.random.default_rng(0).bytes(100_000))
    data, digest = read_and_hash(str(path))
    assert digest == sha256_file(str(path)) and data.to_pybytes() == path.read_bytes()


def test_only_whole_local_parquet_units_qualify(tmp_path):
    src = _inputs(tmp_path, csv=True)
    sources = discover([str(src)])
    schema = pq.read_schema(src / "a.parquet")
    by_source = {s.url.rsplit("/", 1)[-1]: s.id for s in sources}
    parquet = [s for s in sources if s.format == "parquet"]
    units = plan_units(parquet, batch_rows=1000)
    assert hashed_units(sources, units, schema, batch_rows=1000) == set()   # every file spans several units
    units = plan_units(parquet, batch_rows=20_000)
    whole = hashed_units(sources, units, schema, batch_rows=20_000)
    assert {u.source_id for u in units if u.index in whole} == {by_source["b.parquet"]}   # a.parquet: 2 units
    units = plan_units(parquet, batch_rows=50_000)
    whole = hashed_units(sources, units, schema, batch_rows=50_000)
    assert {u.source_id for u in units if u.index in whole} == {by_source["a.parquet"], by_source["b.parquet"]}
    assert hashed_units(sources, units, schema, batch_rows=1) == set()   # files bigger than the batch budget


def test_fingerprints_and_shards_match_either_path(tmp_path):
    src = _inputs(tmp_path)
    # 64 MB over 8 workers: batches of ~20k rows, a.parquet (40k rows) spans 2 units and is fingerprinted by a task
    # of its own; 4 GB: every file is one unit, read once for both
    schema = pq.read_schema(src / "a.parquet")
    assert batch_rows_for(64 << 20, schema, 8) < 40_000 < batch_rows_for(4 << 30, schema, 8)
    small = _split(src, tmp_path / "small", 64 << 20, workers=8)
    large = _split(src, tmp_path / "large", 4 << 30, workers=8)
    assert small == large
    for s in small[0]:
        assert s["sha256"] == sha256_file(src / s["path"].rsplit("/", 1)[-1])


def test_a_row_written_twice_by_one_task_is_still_caught(tmp_path):
    """reduce no longer looks up the bitmap per piece: the counts it reports catch a repeat."""
    from splitters.stage import StageContext, stage_unit
    from splitters.writeplan import write_context

    src = tmp_path / "in"
    src.mkdir()
    pq.write_table(_table(100, 3), src / "a.parquet")
    sources = discover([str(src)])
    schema = pq.read_schema(src / "a.parquet")
    staging = tmp_path / "staging"
    staging.mkdir()
    ctx = StageContext(str(staging), schema, "event_time", None, "UTC", ("month",), frozenset({"month"}), "error",
                       1000, ())
    stage = [stage_unit(u, ctx) for u in plan_units(sources, 1000)]
    (path, batch, rows), = [(f.path, b, n) for f in stage[0].files for _, b, n in f.groups]   # one month
    cfg = SplitConfig(inputs=[str(src)], out=str(tmp_path / "out"), time_column="event_time", group_by=["month"])
    wctx = write_context(cfg, sources, schema, stage, str(tmp_path / "shards"))
    good = reduce_groups([GroupJob(0, "", {}, ((path, batch, rows),))], wctx)
    assert check_conservation(sources, stage, [good])[0] == (100, 100, 0)
    twice = reduce_groups([GroupJob(0, "", {}, ((path, batch, rows), (path, batch, rows)))], wctx)
    with pytest.raises(ConservationError, match="200 rows were written for 100 distinct"):
        check_conservation(sources, stage, [twice])
