"""Split benchmark: split-datasets vs dask partition_on vs DuckDB COPY ... PARTITION_BY.

    python benchmarks/bench_split.py [--files 20] [--rows-per-file 1000000] [--repeats 5]
    python benchmarks/bench_split.py --rows 100M --data /work/benchdata/NAME --repeats 1   # long

``--rows 100M`` (or 20M, 5M, ...) is ``--files`` files of that many rows in all (the 100M table
is ~8 GB of Parquet, generated once, several minutes; one split of it takes minutes: run it once
or twice). ``--data DIR`` keeps the table and the outputs under DIR (default benchmarks/data/):
give each person or job its own, so that concurrent runs never share an output directory.

Generates (or reuses) the synthetic table under benchmarks/data/, then runs the three
contenders (``--only "duckdb COPY zstd"`` adds DuckDB writing zstd, our default codec, instead of its
default snappy: extra information, not the baseline) alternately, each in a fresh process, and prints, over the repeats, the median
wall time with its min-max spread, the median CPU time (user + system of the process and its
children: the figure to compare on a shared machine), peak RSS, output file count, ratios,
and split-datasets' own per-phase wall and CPU times (schema, stage+hash, write, publish, cleanup).
split-datasets runs as the command runs it, with Arrow's allocator keeping freed memory
(splitters/allocator.py); importing splitters as a library would leave that to the caller.
``--timeline`` adds one more split-datasets run (not in the medians) that prints a core-utilisation
timeline (timeline.py): per stretch between the phase marks, wall and CPU seconds, threads running or
runnable and in disk wait, idle core-seconds (cores x wall - CPU: also the machine's other load) and
unasked core-seconds (fewer of the run's threads wanting a core than there are cores: its own serial
stretches, whatever the load). Before every run the input table is read through the page cache
(``--cache warm``, the default since session 29): each contender starts with it as cached as memory
allows; ``--cache cold`` drops the table's files from the page cache before every run instead
(``posix_fadvise``, no root needed); ``--cache as-left`` gives each the cache the run before it left.
Not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, cold, ensure_table, median, run_measured, settle, warm  # noqa: E402

def _duckdb_copy(options: str) -> str:
    """DuckDB's COPY ... PARTITION_BY of the table by month and day (UTC); ``options`` go before PARTITION_BY."""
    return ("""
import duckdb
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
con.execute("COPY (SELECT *, month(event_time::TIMESTAMPTZ) AS month, day(event_time::TIMESTAMPTZ) AS day FROM read_parquet('{src}/*.parquet')) "
            "TO '{out}' (FORMAT parquet, """ + options + """PARTITION_BY (month, day))")
RESULT = {{}}
""")


CONTENDERS = {
    "split-datasets": """
from splitters.allocator import keep_freed_memory
keep_freed_memory()   # as the split-datasets command does, before pyarrow loads (splitters/allocator.py)
from splitters.config import SplitConfig
from splitters.split import run_split
s = run_split(SplitConfig(inputs=['{src}'], out='{out}', time_column='event_time', group_by=['month', 'day'],
                          label='label', progress=False))
RESULT = {{'rows': s.rows, 'phases': s.phases, 'cpu_phases': s.cpu_phases}}
""",
    "dask partition_on": """
import dask.dataframe as dd
df = dd.read_parquet('{src}')
df['month'] = df['event_time'].dt.month
df['day'] = df['event_time'].dt.day
df.to_parquet('{out}', partition_on=['month', 'day'], write_index=False)
RESULT = {{}}
""",
    "duckdb COPY": _duckdb_copy(""),
    # extra information, not the baseline: DuckDB's default codec is snappy; this is the same COPY with zstd, our default
    "duckdb COPY zstd": _duckdb_copy("COMPRESSION zstd, "),
}
BASELINE = ("split-datasets", "dask partition_on", "duckdb COPY")   # what runs without --only

# --timeline: one more split-datasets run (not in the medians) with a core-utilisation timeline (timeline.py)
TIMELINE = """
import sys
sys.path.insert(0, {here!r})
from timeline import Timeline
tl = Timeline().start()
""" + CONTENDERS["split-datasets"].replace("from splitters.config import", "tl.mark('allocator set')\nfrom splitters.config import") \
    .replace("s = run_split(", "tl.mark('splitters imported')\ntl.watch_engine()\ntl.watch_split()\ns = run_split(") + """
tl.stop()
RESULT['timeline'] = tl.summary()
"""


def _rows(text: str) -> int:
    """``20M`` -> 20_000_000, ``1.5k`` -> 1_500, ``300`` -> 300."""
    scale = {"k": 10**3, "m": 10**6, "g": 10**9}.get(text[-1:].lower(), 1)
    try:
        return int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rows {text!r}: expected a count such as 20M or 100M") from None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--rows-per-file", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rows", type=_rows, default=None,
                    help="rows in all, e.g. 20M or 100M (sets --rows-per-file to ROWS / --files)")
    ap.add_argument("--data", type=Path, default=DATA, help="where the table and the outputs go")
    ap.add_argument("--only", nargs="*", default=list(BASELINE), choices=list(CONTENDERS),
                    help="contenders to run (default: the first three; also 'duckdb COPY zstd', DuckDB with our codec)")
    ap.add_argument("--cache", choices=("warm", "cold", "as-left"), default="warm",
                    help="warm (default): read the input table through the page cache before every run, so each "
                         "contender starts alike; cold: drop the table's files from the page cache before every "
                         "run (posix_fadvise; the fraction left cached is printed); as-left: each run finds the "
                         "cache as the run before it left it")
    ap.add_argument("--timeline", action="store_true",
                    help="after the repeats, one more split-datasets run (not in the medians) printing a "
                         "core-utilisation timeline: where fewer cores than the machine's are busy (timeline.py)")
    args = ap.parse_args()
    if args.rows is not None:
        args.rows_per_file = -(-args.rows // args.files)
    src = ensure_table(args.files, args.rows_per_file, root=args.data)
    results: dict[str, list[dict]] = {k: [] for k in args.only}
    for rep in range(args.repeats):
        for name in args.only:
            out = args.data / "out" / name.replace(" ", "_")
            shutil.rmtree(out, ignore_errors=True)
            if args.cache == "warm":
                warm(src)
            settle()
            if args.cache == "cold":
                left = cold(src)
                if left > 0.01:
                    print(f"  note: {left:.1%} of the table still cached after dropping it", file=sys.stderr)
            r = run_measured(CONTENDERS[name].format(src=src, out=out))
            r["files"] = sum(1 for _ in Path(out).rglob("*.parquet"))
            results[name].append(r)
            print(f"  run {rep + 1} {name:18s} {r['wall']:7.2f} s wall {r['cpu']:7.2f} s CPU {r['rss_mb']:7.0f} MB  "
                  f"{r['files']:6d} files",
                  file=sys.stderr, flush=True)
            shutil.rmtree(out, ignore_errors=True)
    rows = args.files * args.rows_per_file
    print(f"\nsplit benchmark: {args.files} files x {args.rows_per_file:,} rows = {rows:,} rows; "
          f"medians [min-max] of {args.repeats} alternated runs; page cache: {args.cache}")
    print(f"{'contender':20s} {'wall s':>8s} {'[min-max]':>15s} {'CPU s':>7s} {'peak RSS MB':>12s} {'files':>7s} "
          f"{'rows/s':>12s}")
    med = {}
    for name, runs in results.items():
        walls = [r["wall"] for r in runs]
        wall, cpu, rss = median(walls), median([r["cpu"] for r in runs]), median([r["rss_mb"] for r in runs])
        med[name] = wall
        print(f"{name:20s} {wall:8.2f} {f'[{min(walls):.2f}-{max(walls):.2f}]':>15s} {cpu:7.2f} {rss:12.0f} "
              f"{runs[0]['files']:7d} {rows / wall:12,.0f}")
    if "split-datasets" in med:
        for other in med:
            if other != "split-datasets":
                print(f"split-datasets / {other}: {med['split-datasets'] / med[other]:.2f}x wall time "
                      f"({med[other] / med['split-datasets']:.2f}x speed-up)")
        runs = results["split-datasets"]
        for key, what in (("phases", "median wall s"), ("cpu_phases", "median CPU s of the process")):
            phases = runs[0].get(key) or {}
            if phases:
                print(f"split-datasets phases ({what}): " + ", ".join(
                    f"{p} {median([r[key].get(p, 0.0) for r in runs]):.2f}" for p in phases))
    if args.timeline:
        out = args.data / "out" / "split-datasets-timeline"
        shutil.rmtree(out, ignore_errors=True)
        warm(src) if args.cache == "warm" else None
        settle()
        cold(src) if args.cache == "cold" else None   # the timeline run in the same cache condition
        r = run_measured(TIMELINE.format(here=str(Path(__file__).resolve().parent), src=src, out=out))
        shutil.rmtree(out, ignore_errors=True)
        print(f"\nsplit-datasets, one more run: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU; " + r["timeline"])


if __name__ == "__main__":
    main()
