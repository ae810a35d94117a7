"""Generator benchmark: DataGenerator vs raw pyarrow decode, and model.fit vs in-memory arrays.

    python benchmarks/bench_generator.py                 # --quick (default): 2M rows, 5 alternated repeats
    python benchmarks/bench_generator.py --rows 20M      # 20M rows: tens of minutes
    python benchmarks/bench_generator.py --rows 20M --dataset DIR   # an existing month/day split of the table
    python benchmarks/bench_generator.py --rows 100M --data DIR     # LONG: writes 80 more 1M-row files
                                                         # (~9 GB) and splits 100M rows, under DIR
    python benchmarks/bench_generator.py --before DIR    # also runs the generator contenders from the
                                                         # code in DIR (e.g. `git archive` of an older
                                                         # commit), alternated: before/after ratios
    python benchmarks/bench_generator.py --rows 1M --dataset DIR --lock /tmp/bench.lock \
        --only "fit in-memory numpy" "fit DataGenerator" "fit as_tf_dataset"   # the fit targets: 1M rows in
                                                         # 366 shards (20M: about 5 minutes per round)

Splits the synthetic table (the split benchmark's, 1M rows per file: N million rows are its first N
files; for N > 20, N-20 more files are generated under --data with another seed) by month and day with
split-datasets (once, under --data), then, alternating contenders run by run, each in a fresh process
(generator_contenders.py), measures wall and CPU seconds of the measured part and peak RSS of:
  * one pass of DataGenerator (shuffle off / on), batch 1024, 16 float32 features + label; the
    shuffled pass also reports its per-phase wall and CPU seconds (the generator's timers,
    datagen/reader/phases.py: summed over threads, so background phases overlap the foreground ones;
    the CPU column is each phase's own thread CPU time, unaffected by waiting for a core; timed on a
    second pass, epoch 1, in the same process: the measured pass runs without timers, whose clock
    reads cost about 10 ns a row on the development VM) and its resident size at
    every tenth of the epoch (flat = bounded by the window budget, not by the table);
  * pyarrow decode limit: every shard read with pyarrow into numpy (also with page checksums
    verified, as the generator reads them);
  * a hand-written keras Sequence calling pd.read_parquet on the shard(s) holding each batch
    (slow: measured on its first --handwritten-batches batches);
  * tf.data.Dataset.from_generator over pyarrow.ParquetFile.iter_batches with prefetch;
  * model.fit (Dense 64-64-1; one epoch, or --epochs N) on DataGenerator, on gen.as_tf_dataset() and on in-memory
    numpy arrays (not at sizes above 20M by default: the arrays would not fit in memory), with the
    seconds the input spent in the generator;
  * Keras's PyDataset adapter alone: fit on a PyDataset whose __getitem__ only copies one batch
    (what Keras costs per batch without any data work: fit(DataGenerator) pays that plus the decode,
    which fit(X, y) paid before its clock started);
  * a process that only imports keras (the RSS floor).
--lock FILE takes an exclusive flock on FILE for each round (one run of every contender) and releases
it between rounds, so a long benchmark shares the machine's benchmark lock in short holds.
Prints, per contender, the median samples/s (wall), CPU seconds with their spread (min-max), CPU ns per row and peak
RSS, and the ratios the targets are stated in, each taken per repeat from runs made side by side
(median, min-max), by wall and by CPU (the CPU ratio is the one to trust on a loaded machine). Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ensure_table, median, run_measured, settle  # noqa: E402

from generator_contenders import CONTENDERS, FEATURES, PRELUDE  # noqa: E402

BEFORE = "@before"
QUICK = ["pyarrow decode", "DataGenerator pass shuffled", "fit in-memory numpy", "fit DataGenerator",
         "fit as_tf_dataset"]
LARGE = ["pyarrow decode", "DataGenerator pass shuffled"]  # default above 20M rows: no in-memory arrays
RATIOS = [("shuffled pass / pyarrow decode", "DataGenerator pass shuffled", "pyarrow decode"),
          ("shuffled pass / pyarrow decode with page checksums", "DataGenerator pass shuffled",
           "pyarrow decode, page checksums"),
          ("fit PyDataset floor / fit in-memory", "fit PyDataset floor", "fit in-memory numpy"),
          ("unshuffled pass / pyarrow decode", "DataGenerator pass", "pyarrow decode"),
          ("fit DataGenerator / fit in-memory", "fit DataGenerator", "fit in-memory numpy"),
          ("fit as_tf_dataset / fit in-memory", "fit as_tf_dataset", "fit in-memory numpy")]


def rows_arg(text: str) -> int:
    """'2M', '20M', '100M' or a plain number of millions -> millions of rows."""
    value = text.strip().upper().removesuffix("M")
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"--rows: expected millions of rows such as 2M, 20M or 100M, got {text!r}")
    return int(value)


def ensure_dataset(millions: int, data: Path) -> Path:
    """The first ``millions`` million rows of the table (1M-row files), split by month and day (made once)
    under ``data``; above 20M, the files past the table's 20 are generated under ``data`` (seed 2025)."""
    from splitters.config import SplitConfig
    from splitters.split import run_split

    out = data / f"by-day-{millions}M"
    if (out / "manifest.json").exists():
        return out
    table = ensure_table(20, 1_000_000)
    files = sorted(table.glob("events-*.parquet"))[:millions]
    if millions > 20:
        from datagen.app.sample import write_sample

        extra = data / f"table-{millions - 20}x1000000-seed2025"
        if not (extra / ".complete").exists():
            write_sample(extra, files=millions - 20, rows_per_file=1_000_000, seed=2025, features=16)
            (extra / ".complete").write_text("ok\n")
        files += sorted(extra.glob("events-*.parquet"))
    run_split(SplitConfig(inputs=[str(f) for f in files], out=str(out), time_column="event_time",
                          group_by=["month", "day"], label="label", progress=False))
    return out


def dataset_rows(ds: Path) -> int:
    from datagen.contract.manifest import read_manifest

    return read_manifest(ds).totals.rows_written


def spread(values: list[float], fmt: str = ",.0f") -> str:
    return f"{median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="*", type=rows_arg, default=None,
                    help="dataset sizes, millions of rows (2M, 20M, 100M: long); default 2M (--quick)")
    ap.add_argument("--quick", action="store_true", help="the default: 2M rows, the contenders of the targets")
    ap.add_argument("--data", type=Path, default=DATA, help="where splits (and tables beyond 20M rows) are made")
    ap.add_argument("--dataset", type=Path, default=None,
                    help="use this split (month/day split of the table) as is, instead of making one")
    ap.add_argument("--repeats", type=int, default=5, help="alternated runs per contender (>= 5 for a median)")
    ap.add_argument("--handwritten-batches", type=int, default=1000)
    ap.add_argument("--before", type=Path, default=None,
                    help="a checkout of other code: generator contenders also run from it ('NAME @before')")
    ap.add_argument("--only", nargs="*", default=None,
                    help=f"contenders (default: {QUICK}; above 20M rows {LARGE}); all: {list(CONTENDERS)}")
    ap.add_argument("--epochs", type=int, default=1,
                    help="epochs of every fit contender (default 1; samples/s counts all of them)")
    ap.add_argument("--lock", type=Path, default=None,
                    help="hold an exclusive flock on this file during each round of runs (released between rounds)")
    args = ap.parse_args()
    sizes = args.rows or [2]
    if args.epochs < 1:
        raise SystemExit(f"--epochs: expected 1 or more, got {args.epochs}")
    unknown = [k for k in args.only or [] if k not in CONTENDERS]
    if unknown:
        raise SystemExit(f"--only: unknown contender(s) {unknown}; choose from {list(CONTENDERS)}")
    if args.dataset is not None and len(sizes) != 1:
        raise SystemExit("--dataset: give one --rows size with it (the size of that dataset)")
    for size in sizes:
        only = args.only or (QUICK if size <= 20 else LARGE)
        ds = args.dataset if args.dataset is not None else ensure_dataset(size, args.data)
        if not (ds / "manifest.json").exists():
            raise SystemExit(f"--dataset: {str(ds)!r} has no manifest.json; give a directory written by split-datasets")
        rows = dataset_rows(ds)
        names = list(only)
        if args.before is not None:
            names += [f"{k} {BEFORE}" for k in only if "DataGenerator" in k or "as_tf_dataset" in k]
        runs: dict[str, list[dict]] = {k: [] for k in names}
        for rep in range(args.repeats):
            with round_lock(args.lock):
                for name in names:
                    base = name.removesuffix(f" {BEFORE}")
                    code = PRELUDE.format(features=FEATURES, ds=str(ds)) + CONTENDERS[base].replace(
                        "{handwritten}", str(args.handwritten_batches)).replace("{epochs}", str(args.epochs))
                    settle()
                    load = os.getloadavg()[0]
                    r = run_measured(code, cwd=args.before) if name != base else run_measured(code)
                    r["rate"] = r["samples"] / r["seconds"] if r["samples"] else 0.0
                    r["load"] = load
                    runs[name].append(r)
                    print(f"  {size}M run {rep + 1} {name:28s} {r['rate']:12,.0f} samples/s {r['seconds']:7.1f} s wall "
                          f"{r['cpu']:7.1f} s CPU {r['rss_mb']:7.0f} MB, load {load:.1f}", file=sys.stderr, flush=True)
        report(f"{rows:,} rows ({ds}), fits of {args.epochs} epoch(s)", args.repeats, runs)


@contextlib.contextmanager
def round_lock(path: Path | None):
    """An exclusive flock on ``path`` for one round of runs (nothing without a path)."""
    if path is None:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ratio(runs: dict[str, list[dict]], label: str, a: str, b: str) -> None:
    wall = [x["rate"] / y["rate"] for x, y in zip(runs[a], runs[b])]
    cpu = [(y["cpu"] / y["samples"]) / (x["cpu"] / x["samples"]) for x, y in zip(runs[a], runs[b])]
    print(f"{label}: wall {spread(wall, '.2f')}x, CPU {spread(cpu, '.2f')}x (samples per CPU second)")


def phase_seconds(run: dict, phase: str) -> tuple[float, float]:
    """(wall, CPU) seconds of a phase (older code reported wall seconds only: CPU is then NaN)."""
    value = run["phases"].get(phase, 0.0)
    return tuple(value) if isinstance(value, list) else (value, float("nan"))


def report(what: str, repeats: int, runs: dict[str, list[dict]]) -> None:
    loads = [r["load"] for rs in runs.values() for r in rs]
    print(f"\ngenerator benchmark, {what}, batch 1024, 16 float32 features + label; "
          f"{repeats} alternated runs: median (min-max); 1-minute load average before the runs "
          f"{min(loads):.1f}-{max(loads):.1f}")
    print(f"{'contender':30s} {'samples/s (wall)':>34s} {'CPU s (measured part)':>24s} {'CPU ns/row':>11s} "
          f"{'peak RSS MB':>12s}")
    for name, rs in runs.items():
        per_row = [r["cpu"] / r["samples"] * 1e9 for r in rs if r["samples"]]
        print(f"{name:30s} {spread([r['rate'] for r in rs]):>34s} {spread([r['cpu'] for r in rs], '.2f'):>24s} "
              f"{median(per_row) if per_row else float('nan'):11.1f} {median([r['rss_mb'] for r in rs]):12.0f}")
    for label, a, b in RATIOS:
        for tag in ("", f" {BEFORE}"):
            if a + tag in runs and b in runs:
                ratio(runs, label + tag, a + tag, b)
    for name in runs:
        if name.endswith(BEFORE):
            ratio(runs, f"{name.removesuffix(' ' + BEFORE)}: after / before", name.removesuffix(f" {BEFORE}"), name)
    for name, rs in runs.items():
        if rs[0].get("phases"):
            print(f"{name}, per phase (median over runs; summed over threads, see phases.py): wall s, CPU s, "
                  "CPU ns per row (comparable across sizes; 'batch' includes 'wait', 'gather' and 'assemble')")
            rows = median([r["samples"] for r in rs]) or 1
            for phase in rs[0]["phases"]:
                wall, cpu = (median([phase_seconds(r, phase)[k] for r in rs]) for k in (0, 1))
                print(f"  {phase:12s} {wall:7.2f} {cpu:7.2f} {cpu / rows * 1e9:7.1f}")
            if rs[0].get("phases_pass"):
                timed = [median([r["phases_pass"][k] for r in rs]) for k in (0, 1)]
                print(f"  {'(timed pass)':12s} {timed[0]:7.2f} {timed[1]:7.2f} {timed[1] / rows * 1e9:7.1f}"
                      "   <- the pass these phases were timed on (epoch 1, timers on)")
            whole = median([r['cpu'] for r in rs])
            print(f"  {'(whole pass)':12s} {median([r['seconds'] for r in rs]):7.2f} {whole:7.2f} {whole / rows * 1e9:7.1f}"
                  "   <- the measured pass (epoch 0, timers off)")
    shuffled = runs.get("DataGenerator pass shuffled")
    if shuffled and shuffled[0].get("rss_trace"):
        trace = [median(v) for v in zip(*[r["rss_trace"] for r in shuffled])]
        print("shuffled pass, resident MB at start and every tenth of the epoch (median over runs): "
              + " ".join(f"{v:.0f}" for v in trace) + f"; peak {median([r['rss_mb'] for r in shuffled]):.0f}")
    if "keras import only" in runs and "fit DataGenerator" in runs:
        rss = median([r["rss_mb"] for r in runs["fit DataGenerator"]]) - median([r["rss_mb"] for r in runs["keras import only"]])
        print(f"fit DataGenerator RSS above keras import: {rss:.0f} MB")


if __name__ == "__main__":
    main()
