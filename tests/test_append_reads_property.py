"""Property (issue 15 item 1): ``--append`` of a generated next day (CSV or Parquet, with whole and
fractional floats, blanks and NA spellings, whole-second and millisecond datetimes, categoricals,
all-empty columns) gives, per group, the rows and values a split of both days together gives, and
pandas' own numbers; the dataset's column types stay day 1's."""

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen.contract.manifest import read_manifest


def _pq(path, **cols):
    pq.write_table(pa.table(cols), path)
    return path


ZONES = ["A1", "b", "0012", "true"]


@st.composite
def two_days(draw):
    fmt = draw(st.sampled_from(["csv", "parquet"]))
    out = []
    for k in (0, 1):
        n = draw(st.integers(1, 5))
        day = draw(st.sampled_from([1, 2])) if k else 1
        frac = draw(st.booleans())                       # the non-time datetime has milliseconds this day
        fare = draw(st.lists(st.one_of(st.none(), st.integers(0, 99).map(float), st.sampled_from([0.5, 7.25])),
                             min_size=n, max_size=n))
        if k == 0:
            fare[0] = 2.5                                # the dataset's fare is double
        ints = draw(st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=n, max_size=n))
        if k == 0 and ints[0] is None:
            ints[0] = 1                                  # the dataset's n is int64
        note = draw(st.one_of(st.just([None] * n), st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n)))
        rows = []
        for i in range(n):
            t = dt.datetime(2023, 1, day, i, 10, 5)
            rows.append({"pickup": t, "drop": t + dt.timedelta(minutes=7, milliseconds=250 if frac else 0),
                         "fare": fare[i], "n": ints[i], "zone": "A1" if k == i == 0 else draw(st.sampled_from(ZONES)),
                         "note": note[i]})   # day 1 holds text in zone (digits alone would make it int64)
        out.append((rows, frac, draw(st.booleans())))   # (rows, ms times, categorical zone)
    return fmt, out, draw(st.sampled_from(["date", "date,zone"]))


def _write(path, fmt, rows, frac, categorical):
    if fmt == "csv":
        text = lambda v: "" if v is None else (v.isoformat(" ", "milliseconds" if frac else "seconds")  # noqa: E731
                                                if isinstance(v, dt.datetime) else f"{v:g}" if isinstance(v, float)
                                                else str(v))   # a whole float is written "8", as pandas writes none
        lines = [",".join(rows[0])] + [",".join(text(r[c]) for c in rows[0]) for r in rows]
        path.write_text("\n".join(lines) + "\n")
        return path
    zone = pa.array([r["zone"] for r in rows])
    notes = [r["note"] for r in rows]
    return _pq(path, pickup=pa.array([r["pickup"] for r in rows], pa.timestamp("us")),
               drop=pa.array([r["drop"] for r in rows], pa.timestamp("ms" if frac else "s")),
               fare=pa.array([r["fare"] for r in rows], pa.float64()), n=pa.array([r["n"] for r in rows], pa.int64()),
               zone=zone.dictionary_encode() if categorical else zone,
               note=pa.nulls(len(rows)) if all(v is None for v in notes) else pa.array(notes, pa.string()))


def _by_group(out):
    m = read_manifest(out)
    groups: dict = {}
    for s in m.shards:
        t = pq.read_table(out / s.path).drop_columns(["_source_id", "_source_row"])
        groups.setdefault(s.path.rpartition("/")[0], []).extend(tuple(r.values()) for r in t.to_pylist())
    return {k: sorted(v, key=repr) for k, v in groups.items()}, {c.name: c.type for c in m.schema}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(two_days())
def test_appending_day_two_equals_splitting_both_days_together(tmp_path_factory, case):
    """Property (pandas-free reference: a split of both files together): for generated daily CSV or
    Parquet files with whole/fractional floats, blanks, whole-second and millisecond datetimes,
    categoricals and all-empty columns, a split of day 1 then ``--append`` of day 2 holds the same
    rows, with the same values, in every group, and the dataset's column types are day 1's."""
    from click.testing import CliRunner

    from splitters.cli import main

    fmt, days, group_by = case
    d = tmp_path_factory.mktemp("days")
    paths = [_write(d / f"d{k}.{fmt}", fmt, *day) for k, day in enumerate(days)]
    args = ["--time-column", "pickup", "--group-by", group_by, "--no-progress"]
    run = CliRunner().invoke
    assert run(main, [str(paths[0]), *args, "--out", str(d / "ds")]).exit_code == 0
    first_types = _by_group(d / "ds")[1]
    r = run(main, [str(paths[1]), "--out", str(d / "ds"), "--append", "--no-progress"])
    assert r.exit_code == 0, r.output
    r = run(main, [str(paths[0]), str(paths[1]), *args, "--out", str(d / "both")])
    assert r.exit_code == 0, r.output
    appended, types = _by_group(d / "ds")
    together, _ = _by_group(d / "both")
    assert types == first_types
    assert appended == together
    # and against pandas' own reading of the two files: the numbers of every row
    ref = pd.concat([pd.read_csv(p) if fmt == "csv" else pd.read_parquet(p) for p in paths])
    names = list(types)
    got = sorted(((r[names.index("fare")], r[names.index("n")]) for rows in appended.values() for r in rows), key=repr)
    want = sorted(((None if pd.isna(f) else float(f), None if pd.isna(n) else int(n))
                   for f, n in zip(ref["fare"], ref["n"])), key=repr)
    assert got == want

