"""Append benchmark: adding one day to a split table costs in proportion to the day, not the table.

    python benchmarks/bench_append.py [--table /work/benchdata/table-20x1000000] [--repeats 3]

Splits the table (by month, day, as bench_split.py does) once, timed; then, each repeat in a
fresh process, appends one new day (the day after the table's last, as many rows as an average
day of the table, same schema: rows of the first file with their times moved into that day) to
a copy-free fresh version of it, timed, and rolls the dataset back to version 1 (deleting the day's
shards and record). Prints the full split's time, the append's median, their ratio and the
rows ratio. Not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, median, run_measured, settle  # noqa: E402

DAY_NS = 86_400 * 10**9

SPLIT = """
from splitters.config import SplitConfig
from splitters.split import run_split
s = run_split(SplitConfig(inputs=['{src}'], out='{out}', time_column='event_time', group_by=['month', 'day'],
                          label='label', progress=False))
RESULT = {{'rows': s.rows}}
"""
APPEND = """
from splitters.append import run_append
s = run_append({{'inputs': ['{day}'], 'out': '{out}', 'append': True, 'progress': False}})
RESULT = {{'rows': s.rows, 'status': s.status}}
"""


def day_file(table_dir: Path, target: Path) -> tuple[Path, int, int]:
    """One day after the table's last, as many rows as its average day; (path, rows, table rows)."""
    files = sorted(table_dir.glob("*.parquet"))
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    times = pq.read_table(files[0], columns=["event_time"]).column("event_time")
    span_days = max(1, (pc.max(times).value - pc.min(times).value) // DAY_NS + 1)
    rows = max(1, total // span_days)
    if not target.exists():
        last = max(pc.max(pq.read_table(f, columns=["event_time"]).column("event_time")).value for f in files)
        start = (last // DAY_NS + 1) * DAY_NS
        t = pq.read_table(files[0]).slice(0, rows)
        new_times = np.sort(np.random.default_rng(0).integers(start, start + DAY_NS, t.num_rows))
        t = t.set_column(t.schema.get_field_index("event_time"), "event_time",
                         pa.array(new_times, t.schema.field("event_time").type))
        pq.write_table(t, target)
    return target, rows, total


def roll_back(out: Path) -> None:
    """Back to version 1: delete what version 2 added (its shards and record), restore manifest 1."""
    from datagen.contract.manifest import manifest_text, read_manifest_with_hash

    record = out / "_versions" / "00000002.json"
    if not record.exists():
        return
    v1, _ = read_manifest_with_hash(out, 1)
    from datagen.contract.shardtable import paths

    for path in paths(json.loads(record.read_text())["shards_added"]):   # a table (format 2) or entries
        (out / path).unlink(missing_ok=True)
    (out / "manifest.json").write_text(manifest_text(v1))
    record.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default="/work/benchdata/table-20x1000000")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    table = Path(args.table)
    work = DATA / f"append-{table.name}"
    work.mkdir(parents=True, exist_ok=True)
    day, day_rows, total = day_file(table, work / "day.parquet")
    out = work / "ds"
    roll_back(out)
    if not (out / "manifest.json").exists():
        settle()
        split = run_measured(SPLIT.format(src=table, out=out))
        (work / "split.json").write_text(json.dumps(split))
    split = json.loads((work / "split.json").read_text())
    print(f"full split: {split['rows']:,} rows in {split['wall']:.1f} s (peak RSS {split['rss_mb']:.0f} MB)")
    walls = []
    for i in range(args.repeats):
        settle()
        r = run_measured(APPEND.format(day=day, out=out))
        roll_back(out)
        walls.append(r["wall"])
        print(f"append of one day, run {i + 1}: {r['rows']:,} rows in {r['wall']:.2f} s "
              f"(peak RSS {r['rss_mb']:.0f} MB)")
    m = median(walls)
    print(f"append median {m:.2f} s = {m / split['wall']:.3f} of the full split's time; "
          f"the day is {day_rows / total:.4f} of the rows")


if __name__ == "__main__":
    main()
