"""Property tests of grouping against a plain pandas reference.

The rule (README "The split"): rows are grouped by value equality as pandas'
``groupby(dropna=False)`` does, except that null and NaN are distinct groups;
-0.0 and 0.0 are one group stored as 0.0; NaN/inf/-inf are stored in the
manifest as "NaN"/"Infinity"/"-Infinity"; categorical columns group by value.
The reference maps every value to that stored form first, then groups with pandas.
"""

import datetime as dt
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings, strategies as st

from datagen.dataset import arrow_dataset
from datagen.contract.manifest import read_manifest
from splitters import SplitConfig, run_split
from splitters.groupkeys import group_rows

NAN, INF = float("nan"), float("inf")
UTC = dt.timezone.utc
TIMES = [dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
         dt.datetime(1970, 1, 1, tzinfo=UTC), dt.datetime(2262, 1, 1, tzinfo=UTC)]
DATES = [dt.date(2024, 2, 29), dt.date(1600, 1, 1), dt.date(1970, 1, 1)]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=4)

VALUES = {
    "bool": st.sampled_from([True, False, None]),
    "int64": st.one_of(st.sampled_from([0, 1, -1, None]), st.integers(-2**63, 2**63 - 1)),
    "int8": st.sampled_from([-128, 0, 1, 127, None]),
    "float64": st.one_of(st.sampled_from([0.0, -0.0, NAN, INF, -INF, 1.5, 1e300, None]),
                         st.floats(allow_nan=True, allow_infinity=True)),
    "float32": st.sampled_from([0.0, -0.0, NAN, 0.1, 3.0e38, None]),
    "string": st.one_of(st.sampled_from(["a", "", "__HIVE_DEFAULT_PARTITION__", "a/b", "NaN", None]), TEXT),
    "category": st.sampled_from(["x", "y", "z", None]),
    "timestamp": st.sampled_from(TIMES + [None]),
    "date": st.sampled_from(DATES + [None]),
    "null": st.none(),
}
ARROW = {"bool": pa.bool_(), "int64": pa.int64(), "int8": pa.int8(), "float64": pa.float64(),
         "float32": pa.float32(), "string": pa.string(), "timestamp": pa.timestamp("us", "UTC"),
         "date": pa.date32(), "null": pa.null()}


def stored(value, kind):
    """The value the manifest must hold for a source value of this kind."""
    if value is None:
        return None
    if kind in ("float64", "float32"):
        v = float(np.float32(value)) if kind == "float32" else float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v + 0.0
    if kind in ("timestamp", "date"):
        return value.isoformat()
    return value


def _arrow(values, kind, rng):
    if kind != "category":
        return pa.array(values, ARROW[kind])
    dictionary = list(rng.permutation(["x", "y", "z", "w"]))  # a different dictionary in every file
    indices = [None if v is None else dictionary.index(v) for v in values]
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(dictionary))


@st.composite
def datasets(draw):
    kinds = draw(st.lists(st.sampled_from(sorted(VALUES) + ["category"]), min_size=1, max_size=20))
    derived = draw(st.sampled_from([(), ("month",), ("month", "day"), ("year", "date"), ("hour", "weekday")]))
    files = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 25))
        cols = [draw(st.lists(VALUES[k], min_size=n, max_size=n)) for k in kinds]
        days = draw(st.lists(st.integers(0, 400 * 24), min_size=n, max_size=n))   # hours, in fact
        files.append((cols, days))
    return kinds, derived, files


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(datasets())
def test_split_groups_every_row_like_pandas(data):
    kinds, derived, files = data
    names = [f"g{i}" for i in range(len(kinds))]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(len(files))
        expected = {}
        for f, (cols, days) in enumerate(files):
            ts = [dt.datetime(2023, 12, 31, tzinfo=UTC) + dt.timedelta(hours=h + f) for h in days]
            table = {"ts": pa.array(ts, pa.timestamp("ns", "UTC")), "uid": pa.array([f * 1000 + r for r in range(len(days))])}
            for name, kind, values in zip(names, kinds, cols):
                table[name] = _arrow(values, kind, rng)
            pq.write_table(pa.table(table), tmp / f"s{f}.parquet")
            for r in range(len(days)):
                row = {name: stored(values[r], kind) for name, kind, values in zip(names, kinds, cols)}
                row.update({"year": ts[r].year, "month": ts[r].month, "day": ts[r].day, "hour": ts[r].hour,
                            "weekday": ts[r].weekday(), "date": ts[r].date().isoformat()})
                expected[(f, r)] = row
        group_by = list(derived) + names
        cfg = SplitConfig(inputs=[str(tmp / "*.parquet")], out=str(tmp / "out"), time_column="ts",
                          group_by=group_by, progress=False, workers=2)
        run_split(cfg)
        m = read_manifest(tmp / "out")
        file_of = {s.id: int(Path(s.path).stem[1:]) for s in m.sources}
        seen, shard_rows = set(), []
        for shard in m.shards:
            t = pq.read_table(tmp / "out" / shard.path)
            members = set()
            for sid, row, uid in zip(t.column("_source_id").to_pylist(), t.column("_source_row").to_pylist(),
                                     t.column("uid").to_pylist()):
                key = (file_of[sid], row)
                assert uid == key[0] * 1000 + key[1], "a shard row holds another row's data"
                assert key not in seen, f"source row {key} written twice"
                seen.add(key)
                want = {g: expected[key][g] for g in group_by}
                assert shard.group == want, (key, shard.path, shard.group, want)
                members.add(key)
            shard_rows.append(frozenset(members))
        assert seen == set(expected), "every source row appears exactly once"

        # datagen's pyarrow view reads every group value back as the manifest holds it
        back = arrow_dataset(tmp / "out").to_table().to_pylist()
        assert len(back) == len(expected)
        for rec in back:
            key = (file_of[rec["_source_id"]], rec["_source_row"])
            got = {g: stored(rec[g], "float64") if isinstance(rec[g], float) else rec[g] for g in group_by}
            assert got == {g: expected[key][g] for g in group_by}, key

        # the same partition as pandas groupby(dropna=False) over the stored values
        keys = list(expected)
        frame = pd.DataFrame({g: pd.Series([expected[k][g] for k in keys], dtype=object) for g in group_by})
        reference = {frozenset(keys[i] for i in idx)
                     for idx in frame.groupby(group_by, dropna=False, sort=False).indices.values()}
        assert set(shard_rows) == reference
        assert len(shard_rows) == len(reference) == m.totals.groups


def _pandas_groups(columns):
    frame = pd.DataFrame({f"c{i}": pd.Series(c, dtype=object) for i, c in enumerate(columns)})
    return {frozenset(idx.tolist())
            for idx in frame.groupby(list(frame.columns), dropna=False, sort=False).indices.values()}


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.lists(
    st.one_of(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n),
              st.lists(st.integers(0, 3), min_size=n, max_size=n),
              st.lists(st.sampled_from([0.0, -0.0, NAN, 2.5, None]), min_size=n, max_size=n),
              st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n)),
    min_size=1, max_size=20)))
def test_group_rows_matches_pandas_for_any_number_of_columns(columns):
    """Many high-cardinality columns: no packed key may overflow and merge two groups."""
    arrays = []
    for c in columns:
        if all(isinstance(v, int) for v in c):
            arrays.append(np.array(c, np.int64) if max(c) < 4 else pa.array(c, pa.int64()))
        else:
            arrays.append(pa.array(c))
    order, keys, counts = group_rows(arrays)
    assert order.dtype == np.int64 and sorted(order.tolist()) == list(range(len(columns[0])))
    ours, start = set(), 0
    canon = [[stored(v, "float64") if isinstance(v, float) else v for v in c] for c in columns]
    for key, count in zip(keys, counts.tolist()):
        rows = order[start:start + count].tolist()
        start += count
        assert rows == sorted(rows)   # stable: a group's rows in arrival order (the staged bytes rely on it)
        for r in rows:  # every row of a group has the group's values
            assert tuple(stored(v, "float64") if isinstance(v, float) else v for v in key) == \
                tuple(c[r] for c in canon)
        ours.add(frozenset(rows))
    assert ours == _pandas_groups(canon)
