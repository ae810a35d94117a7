"""Generator benchmark: DataGenerator vs hand-written readers, and model.fit vs in-memory arrays.

    python benchmarks/bench_generator.py [--sizes 1 20] [--repeats 3]

Splits the synthetic table (the split benchmark's) by month and day with split-datasets
(1M rows = its first file; 20M rows = all of it), then, alternating contenders, each in a
fresh process, measures samples/s and peak RSS of:
  * one pass of DataGenerator (shuffle off / on), batch 1024, 16 float32 features + label;
  * pyarrow decode limit: every shard read with pyarrow into numpy;
  * a hand-written keras Sequence calling pd.read_parquet on the shard(s) holding each batch
    (slow: measured on its first --handwritten-batches batches);
  * tf.data.Dataset.from_generator over pyarrow.ParquetFile.iter_batches with prefetch;
  * one epoch of model.fit (Dense 64-64-1) on DataGenerator vs on in-memory numpy arrays;
  * a process that only imports keras (the RSS floor).
Prints medians and the ratios the targets are stated in. Not a test.
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
t0 = time.perf_counter(); n = 0
for i in range(len(g)):
    n += len(g[i][1])
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0}
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


def ensure_dataset(millions: int) -> Path:
    from splitters.config import SplitConfig
    from splitters.split import run_split

    table = ensure_table(20, 1_000_000)
    out = DATA / f"by-day-{millions}M"
    inputs = [str(table / "events-000.parquet")] if millions == 1 else [str(table)]
    if millions not in (1, 20):
        raise SystemExit("--sizes: 1 and/or 20")
    run_split(SplitConfig(inputs=inputs, out=str(out), time_column="event_time", group_by=["month", "day"],
                          label="label", progress=False))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="*", type=int, default=[1, 20], help="millions of rows: 1 and/or 20")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--handwritten-batches", type=int, default=1000)
    ap.add_argument("--only", nargs="*", default=list(CONTENDERS))
    args = ap.parse_args()
    report = {}
    for size in args.sizes:
        ds = ensure_dataset(size)
        runs: dict[str, list[dict]] = {k: [] for k in args.only}
        for rep in range(args.repeats):
            for name in args.only:
                code = PRELUDE.format(features=FEATURES, ds=str(ds)) + CONTENDERS[name].replace(
                    "{handwritten}", str(args.handwritten_batches))
                settle()
                r = run_measured(code)
                runs[name].append(r)
                rate = r["samples"] / r["seconds"] if r["samples"] else 0
                print(f"  {size}M run {rep + 1} {name:28s} {rate:12,.0f} samples/s {r['rss_mb']:7.0f} MB",
                      file=sys.stderr, flush=True)
        report[size] = {k: (median([r["samples"] / r["seconds"] for r in v]), median([r["rss_mb"] for r in v]))
                        for k, v in runs.items()}
    for size, rows in report.items():
        print(f"\ngenerator benchmark, {size}M rows, batch 1024, 16 float32 features + label; "
              f"medians of {args.repeats} alternated runs")
        print(f"{'contender':30s} {'samples/s':>12s} {'peak RSS MB':>12s}")
        for name, (rate, rss) in rows.items():
            print(f"{name:30s} {rate:12,.0f} {rss:12.0f}")
        get = lambda k, i=0: rows.get(k, (None, None))[i]  # noqa: E731
        if get("pyarrow decode") and get("DataGenerator pass shuffled"):
            print(f"shuffled pass / pyarrow decode: {get('DataGenerator pass shuffled') / get('pyarrow decode'):.2f}x")
        if get("pyarrow decode") and get("DataGenerator pass"):
            print(f"unshuffled pass / pyarrow decode: {get('DataGenerator pass') / get('pyarrow decode'):.2f}x")
        if get("fit in-memory numpy") and get("fit DataGenerator"):
            print(f"fit DataGenerator / fit in-memory: {get('fit DataGenerator') / get('fit in-memory numpy'):.2f}x")
        if get("keras import only", 1) and get("fit DataGenerator", 1):
            print(f"fit DataGenerator RSS above keras import: {get('fit DataGenerator', 1) - get('keras import only', 1):.0f} MB")
    if 1 in report and 20 in report and "fit DataGenerator" in report[1]:
        print(f"fit DataGenerator RSS 20M - 1M: {report[20]['fit DataGenerator'][1] - report[1]['fit DataGenerator'][1]:.0f} MB")


if __name__ == "__main__":
    main()
