"""The split's fast paths (rows already in time, source or group order) give exactly the order of
the full sort they skip, and a split of time-ordered input writes the same shards as one of the
same rows shuffled across batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN
from splitters.reduce import source_order, time_order

times = st.lists(st.integers(-5, 5), max_size=40).map(lambda v: np.array(v, dtype=np.int64))


def _applied(order, n):
    return np.arange(n) if order is None else order


@settings(deadline=None, max_examples=60)
@given(times, st.booleans())
def test_time_order_matches_a_stable_sort(ns, presort):
    if presort:
        ns = np.sort(ns)
    order = time_order(ns)
    assert np.array_equal(_applied(order, len(ns)), np.argsort(ns, kind="stable"))
    if presort:
        assert order is None   # sorted rows: no sort, no gather


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), unique=True, max_size=40), st.booleans())
def test_source_order_matches_lexsort(pairs, presort):
    if presort:
        pairs = sorted(pairs)
    ids = np.array([p[0] for p in pairs], dtype=np.int32)
    rows = np.array([p[1] for p in pairs], dtype=np.int64)
    table = pa.table({SOURCE_ID_COLUMN: ids, SOURCE_ROW_COLUMN: rows})
    order = source_order(table)
    assert np.array_equal(_applied(order, len(ids)), np.lexsort((rows, ids)))
    if presort:
        assert order is None


def test_sorted_input_gives_the_shards_of_shuffled_input(run_split, tmp_path):
    import pyarrow.parquet as pq

    from datagen.contract.manifest import read_manifest

    rng = np.random.default_rng(7)
    n = 3000
    t = np.sort(rng.choice(40 * 86_400, n, replace=False)) * 1_000_000   # distinct times: one order
    base = pa.table({"event_time": pa.array(t, pa.timestamp("us", tz="UTC")), "x": rng.normal(size=n),
                     "label": rng.integers(0, 2, n)})
    sorted_dir, shuffled_dir = tmp_path / "sorted", tmp_path / "shuffled"
    sorted_dir.mkdir()
    shuffled_dir.mkdir()
    pq.write_table(base, sorted_dir / "a.parquet", row_group_size=500)
    # same rows, but the time order inside each row group is broken: the reduce must sort them
    perm = np.concatenate([rng.permutation(np.arange(i, min(i + 500, n))) for i in range(0, n, 500)])
    pq.write_table(base.take(pa.array(perm)), shuffled_dir / "a.parquet", row_group_size=500)
    digests = []
    for src in (sorted_dir, shuffled_dir):
        out = tmp_path / f"out-{src.name}"
        r = run_split(src, "--out", out, "--time-column", "event_time", "--group-by", "day")
        assert r.exit_code == 0, r.output
        m = read_manifest(str(out))
        digests.append({s.path.split("/part-")[0]: pq.read_table(out / s.path, columns=["event_time", "x", "label"]).to_pydict()
                        for s in m.shards})
    assert digests[0] == digests[1]


def test_split_reports_its_phase_times(tmp_path):
    import pyarrow.parquet as pq

    from splitters.config import SplitConfig
    from splitters.split import run_split as split

    src = tmp_path / "in"
    src.mkdir()
    t = pa.array(np.arange(200, dtype=np.int64) * 3_600_000_000, pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"event_time": t, "x": np.arange(200.0)}), src / "a.parquet")
    s = split(SplitConfig(inputs=[str(src)], out=str(tmp_path / "out"), time_column="event_time",
                          group_by=["day"], progress=False))
    assert list(s.phases) == ["schema", "stage+hash", "write", "publish", "cleanup"]
    assert all(v >= 0 for v in s.phases.values())
