"""Generator benchmark: DataGenerator vs raw pyarrow decode, and model.fit vs in-memory arrays.

    python benchmarks/bench_generator.py                 # --quick (default): 2M rows, 5 alternated repeats
    python benchmarks/bench_generator.py --rows 20M      # 20M rows: tens of minutes
    python benchmarks/bench_generator.py --rows 100M --only "pyarrow decode" "DataGenerator pass shuffled"
                                                         # LONG: writes an 8 GB table and splits it (hours)

Splits the synthetic table (the split benchmark's, 1M rows per file: N million rows are its first N
files; files beyond the 20 are generated for N > 20) by month and day with split-datasets, then,
alternating contenders run by run, each in a fresh process, measures samples/s and peak RSS of:
  * one pass of DataGenerator (shuffle off / on), batch 1024, 16 float32 features + label; the
    shuffled pass also reports its per-phase seconds (the generator's timers, datagen/reader/phases.py:
    summed over threads, so background phases overlap the foreground ones);
  * pyarrow decode limit: every shard read with pyarrow into numpy;
  * a hand-written keras Sequence calling pd.read_parquet on the shard(s) holding each batch
    (slow: measured on its first --handwritten-batches batches);
  * tf.data.Dataset.from_generator over pyarrow.ParquetFile.iter_batches with prefetch;
  * one epoch of model.fit (Dense 64-64-1) on DataGenerator, on gen.as_tf_dataset() and on in-memory
    numpy arrays;
  * a process that only imports keras (the RSS floor).
Prints, per contender, the median samples/s with its spread (min-max) and peak RSS, and the ratios the
targets are stated in, each taken per repeat from runs made side by side (median, min-max). Not a test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ensure_table, median, run_measured, settle  # noqa: E402

FEATURES = [f"f{i}" for i in range(16)]

PRELUDE = """
import os, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
FEATURES = {features!r}
DS = {ds!r}
"""

CONTENDERS = {
    "keras import only": """
import keras
RESULT = {'samples': 0, 'seconds': 1}
""",
    "pyarrow decode": """
import glob, numpy as np, pyarrow.parquet as pq
t0 = time.perf_counter(); n = 0
for f in sorted(glob.glob(DS + '/**/*.parquet', recursive=True)):
    t = pq.read_table(f, columns=FEATURES + ['label'])
    x = np.column_stack([t.column(c).to_numpy() for c in FEATURES]); y = t.column('label').to_numpy()
    n += len(y)
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0}
""",
    "DataGenerator pass": """
from datagen import DataGenerator
g = DataGenerator(DS, FEATURES, label='label', batch_size=1024, shuffle=False)
t0 = time.perf_counter(); n = 0
for i in range(len(g)):
    n += len(g[i][1])
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0}
""",
    "DataGenerator pass shuffled": """
from datagen import DataGenerator
g = DataGenerator(DS, FEATURES, label='label', batch_size=1024, shuffle=True, seed=1)
stats = g.source.phase_stats()  # the internal per-phase timers (a few clock reads per batch)
t0 = time.perf_counter(); n = 0
for i in range(len(g)):
    n += len(g[i][1])
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0,
          'phases': {k: v['seconds'] for k, v in stats.as_dict().items()}}
""",
    "hand-written Sequence": """
import bisect, glob, numpy as np, pandas as pd, pyarrow.parquet as pq, keras
files = sorted(glob.glob(DS + '/**/*.parquet', recursive=True))
starts = [0]
for f in files:
    starts.append(starts[-1] + pq.read_metadata(f).num_rows)
class Seq(keras.utils.Sequence):
    def __len__(self):
        return -(-starts[-1] // 1024)
    def __getitem__(self, i):
        lo, hi = i * 1024, min((i + 1) * 1024, starts[-1])
        parts, k = [], bisect.bisect_right(starts, lo) - 1
        while lo < hi:
            df = pd.read_parquet(files[k], columns=FEATURES + ['label'])
            end = min(hi, starts[k + 1])
            parts.append(df.iloc[lo - starts[k]:end - starts[k]])
            lo, k = end, k + 1
        df = pd.concat(parts)
        return df[FEATURES].to_numpy(np.float32), df['label'].to_numpy()
s = Seq(); n = 0
t0 = time.perf_counter()
for i in range(min(len(s), {handwritten})):
    n += len(s[i][1])
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0}
""",
    "tf.data from_generator": """
import glob, numpy as np, pyarrow.parquet as pq, tensorflow as tf
files = sorted(glob.glob(DS + '/**/*.parquet', recursive=True))
def gen():
    for f in files:
        for b in pq.ParquetFile(f).iter_batches(batch_size=1024, columns=FEATURES + ['label']):
            yield np.column_stack([b.column(c).to_numpy() for c in FEATURES]), b.column('label').to_numpy()
ds = tf.data.Dataset.from_generator(gen, output_signature=(tf.TensorSpec((None, 16), tf.float32),
                                                          tf.TensorSpec((None,), tf.int8))).prefetch(tf.data.AUTOTUNE)
t0 = time.perf_counter(); n = 0
for x, y in ds:
    n += int(y.shape[0])
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0}
""",
    "fit DataGenerator": """
import keras
from datagen import DataGenerator
g = DataGenerator(DS, FEATURES, label='label', batch_size=1024, shuffle=True, seed=1)
m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation='relu'),
                      keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])
m.compile('adam', 'binary_crossentropy')
t0 = time.perf_counter()
m.fit(g, epochs=1, shuffle=False, verbose=0, callbacks=[g.callback])
RESULT = {'samples': g.num_rows, 'seconds': time.perf_counter() - t0}
""",
    "fit as_tf_dataset": """
import keras
from datagen import DataGenerator
g = DataGenerator(DS, FEATURES, label='label', batch_size=1024, shuffle=True, seed=1)
m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation='relu'),
                      keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])
m.compile('adam', 'binary_crossentropy')
t0 = time.perf_counter()
m.fit(g.as_tf_dataset(), epochs=1, shuffle=False, verbose=0, callbacks=[g.callback])
RESULT = {'samples': g.num_rows, 'seconds': time.perf_counter() - t0}
""",
    "fit in-memory numpy": """
import glob, numpy as np, pyarrow.parquet as pq, keras
tables = [pq.read_table(f, columns=FEATURES + ['label']) for f in sorted(glob.glob(DS + '/**/*.parquet', recursive=True))]
X = np.concatenate([np.column_stack([t.column(c).to_numpy() for c in FEATURES]) for t in tables])
y = np.concatenate([t.column('label').to_numpy() for t in tables]); del tables
m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation='relu'),
                      keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])
m.compile('adam', 'binary_crossentropy')
t0 = time.perf_counter()
m.fit(X, y, batch_size=1024, epochs=1, verbose=0)
RESULT = {'samples': len(y), 'seconds': time.perf_counter() - t0}
""",
}


QUICK = ["pyarrow decode", "DataGenerator pass shuffled", "fit in-memory numpy", "fit DataGenerator",
         "fit as_tf_dataset"]
RATIOS = [("shuffled pass / pyarrow decode", "DataGenerator pass shuffled", "pyarrow decode"),
          ("unshuffled pass / pyarrow decode", "DataGenerator pass", "pyarrow decode"),
          ("fit DataGenerator / fit in-memory", "fit DataGenerator", "fit in-memory numpy"),
          ("fit as_tf_dataset / fit in-memory", "fit as_tf_dataset", "fit in-memory numpy")]


def rows_arg(text: str) -> int:
    """'2M', '20M', '100M' or a plain number of millions -> millions of rows."""
    value = text.strip().upper().removesuffix("M")
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"--rows: expected millions of rows such as 2M, 20M or 100M, got {text!r}")
    return int(value)


def ensure_dataset(millions: int) -> Path:
    """The first ``millions`` files of the table (1M rows each), split by month and day (made once)."""
    from splitters.config import SplitConfig
    from splitters.split import run_split

    files = max(20, millions)
    table = ensure_table(20, 1_000_000) if files == 20 else ensure_table(files, 1_000_000)
    out = DATA / f"by-day-{millions}M"
    if (out / "manifest.json").exists():
        return out
    inputs = [str(table)] if millions == files else [str(table / f"events-{i:03d}.parquet") for i in range(millions)]
    run_split(SplitConfig(inputs=inputs, out=str(out), time_column="event_time", group_by=["month", "day"],
                          label="label", progress=False))
    return out


def spread(values: list[float], fmt: str = ",.0f") -> str:
    return f"{median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="*", type=rows_arg, default=None,
                    help="dataset sizes, millions of rows (2M, 20M, 100M: long); default 2M (--quick)")
    ap.add_argument("--quick", action="store_true", help="the default: 2M rows, the contenders of the targets")
    ap.add_argument("--repeats", type=int, default=5, help="alternated runs per contender (>= 5 for a median)")
    ap.add_argument("--handwritten-batches", type=int, default=1000)
    ap.add_argument("--only", nargs="*", default=None, help=f"contenders (default: {QUICK}); all: {list(CONTENDERS)}")
    args = ap.parse_args()
    sizes = args.rows or [2]
    only = args.only or QUICK
    unknown = [k for k in only if k not in CONTENDERS]
    if unknown:
        raise SystemExit(f"--only: unknown contender(s) {unknown}; choose from {list(CONTENDERS)}")
    for size in sizes:
        ds = ensure_dataset(size)
        runs: dict[str, list[dict]] = {k: [] for k in only}
        for rep in range(args.repeats):
            for name in only:
                code = PRELUDE.format(features=FEATURES, ds=str(ds)) + CONTENDERS[name].replace(
                    "{handwritten}", str(args.handwritten_batches))
                settle()
                r = run_measured(code)
                r["rate"] = r["samples"] / r["seconds"] if r["samples"] else 0.0
                runs[name].append(r)
                print(f"  {size}M run {rep + 1} {name:28s} {r['rate']:12,.0f} samples/s {r['rss_mb']:7.0f} MB",
                      file=sys.stderr, flush=True)
        report(size, args.repeats, runs)


def report(size: int, repeats: int, runs: dict[str, list[dict]]) -> None:
    print(f"\ngenerator benchmark, {size}M rows, batch 1024, 16 float32 features + label; "
          f"{repeats} alternated runs: median (min-max)")
    print(f"{'contender':30s} {'samples/s':>32s} {'peak RSS MB':>12s}")
    for name, rs in runs.items():
        print(f"{name:30s} {spread([r['rate'] for r in rs]):>32s} {median([r['rss_mb'] for r in rs]):12.0f}")
    for label, a, b in RATIOS:
        if a in runs and b in runs:
            ratios = [x["rate"] / y["rate"] for x, y in zip(runs[a], runs[b])]
            print(f"{label}: {spread(ratios, '.2f')}x")
    shuffled = runs.get("DataGenerator pass shuffled")
    if shuffled and shuffled[0].get("phases"):
        print("shuffled pass, seconds per phase (median over runs; summed over threads, see phases.py):")
        total = median([r["seconds"] for r in shuffled])
        for phase in shuffled[0]["phases"]:
            print(f"  {phase:12s} {median([r['phases'].get(phase, 0.0) for r in shuffled]):7.2f} s")
        print(f"  {'(wall)':12s} {total:7.2f} s")
    if "keras import only" in runs and "fit DataGenerator" in runs:
        rss = median([r["rss_mb"] for r in runs["fit DataGenerator"]]) - median([r["rss_mb"] for r in runs["keras import only"]])
        print(f"fit DataGenerator RSS above keras import: {rss:.0f} MB")


if __name__ == "__main__":
    main()
