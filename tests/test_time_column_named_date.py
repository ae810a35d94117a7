"""A time column named like a derived part (``date``, common in NOAA/Kaggle tables): --group-by date
names the column itself (a name that is a column means the column), which cannot be a group key;
the error says so and gives a way out that works (year,month,day: one group per date), rather than
suggesting the very part that was refused."""

import datetime as dt

import pyarrow.parquet as pq
import pytest

from cli_checks import fails
from datagen.contract.manifest import read_manifest

DATES = ["2024-01-31", "2024-02-01", "2024-01-31", "2023-12-31", "2024-02-29"]


def test_date_named_time_column_error_gives_a_way_out_that_works(tmp_path, run_split):
    src = tmp_path / "d.csv"
    src.write_text("date,v\n" + "".join(f"{d},{i}\n" for i, d in enumerate(DATES)))
    line = fails(run_split(src, "--out", tmp_path / "ds", "--time-column", "date", "--group-by", "date"), 2,
                 "'date' is the time column's own name", "derived part 'date'", "group by year,month,day")
    assert "such as" not in line
    out = tmp_path / "ok"
    r = run_split(src, "--out", out, "--time-column", "date", "--group-by", "year,month,day")
    assert r.exit_code == 0, r.output
    per_date = {}
    for s in read_manifest(out).shards:
        t = pq.read_table(out / s.path)
        assert "year" not in t.column_names          # one 'date' column: the time column itself
        key = dt.date(int(s.group["year"]), int(s.group["month"]), int(s.group["day"]))
        per_date[key] = sorted(t.column("v").to_pylist())
    want = {}
    for i, d in enumerate(DATES):
        want.setdefault(dt.date.fromisoformat(d), []).append(i)
    assert per_date == want


@pytest.mark.parametrize("name, needles, absent", [
    ("hour", ("'hour' is the time column's own name", "other derived parts (year, month, day, weekday, date)"), None),
    ("t", ("the time column 't' cannot be a group key", "such as year"), "own name"),
])
def test_other_time_column_names(tmp_path, run_split, name, needles, absent):
    src = tmp_path / "a.csv"
    src.write_text(f"{name},v\n2024-01-01T00:00:00Z,1\n")
    line = fails(run_split(src, "--out", tmp_path / "o", "--time-column", name, "--group-by", name), 2, *needles)
    assert absent is None or absent not in line
