"""Before/after benchmark: this checkout ("new") against another checkout of the project ("base"),
alternated run by run, each run in a fresh process, medians and every run printed.

    git worktree add /tmp/base <commit>
    python benchmarks/bench_versions.py split --base /tmp/base [--repeats 5]
    python benchmarks/bench_versions.py shuffled|pass|fit --base /tmp/base [--repeats 5] [--size 1|20]

Uses the split benchmark's table (generated on first use). Not a test: nothing asserts a timing.
"""
import argparse, statistics, sys, shutil
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, ensure_table, run_measured, settle  # noqa: E402

OUT = DATA / "versions"
TREES: dict[str, str] = {}

def run(tree, code):
    """``code`` run by ``run_measured`` against checkout ``tree`` (its own code first on the path)."""
    return run_measured("import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')\n" + code,
                        env={"PYTHONPATH": TREES[tree]}, cwd=TREES[tree])

SPLIT = """
from splitters.config import SplitConfig
from splitters.split import run_split
s = run_split(SplitConfig(inputs={src!r}, out={out!r}, time_column='event_time', group_by=['month', 'day'],
                          label='label', progress=False))
RESULT = {{'rows': s.rows}}
"""
FEATURES = [f"f{i}" for i in range(16)]
PASS = """
from datagen import DataGenerator
g = DataGenerator({ds!r}, {features!r}, label='label', batch_size=1024, shuffle={shuffle}, seed=1)
t0 = time.perf_counter(); n = 0
for i in range(len(g)):
    n += len(g[i][1])
RESULT = {{'samples': n, 'seconds': time.perf_counter() - t0}}
"""
FIT = """
import keras
from datagen import DataGenerator
g = DataGenerator({ds!r}, {features!r}, label='label', batch_size=1024, shuffle=True, seed=1)
model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation='relu'),
                          keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])
model.compile('adam', 'binary_crossentropy')
t0 = time.perf_counter()
model.fit(g, epochs=1, verbose=0, shuffle=False)
RESULT = {{'samples': g.num_rows if hasattr(g, 'num_rows') else len(g) * 1024, 'seconds': time.perf_counter() - t0}}
"""

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["split", "pass", "shuffled", "fit"])
    ap.add_argument("--base", required=True, help="another checkout of the project (e.g. a git worktree)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, choices=[1, 20], default=20, help="millions of rows (generator runs)")
    args = ap.parse_args()
    TREES.update(base=str(Path(args.base).resolve()), new=str(ROOT))
    what, reps = args.what, args.repeats
    global SRC20
    SRC20 = ensure_table(20, 1_000_000)
    res = {t: [] for t in TREES}
    if what == "split":
        for r in range(reps):
            for t in TREES:
                out = OUT / f"split-{t}"
                shutil.rmtree(out, ignore_errors=True); settle()
                m = run(t, SPLIT.format(src=[str(SRC20)], out=str(out)))
                res[t].append(m); print(r, t, f"{m['wall']:.2f}s {m['rss_mb']:.0f}MB", flush=True)
                shutil.rmtree(out, ignore_errors=True)
        for t in TREES:
            print(f"{t}: median wall {statistics.median(x['wall'] for x in res[t]):.2f}s, "
                  f"RSS {statistics.median(x['rss_mb'] for x in res[t]):.0f}MB, runs {[round(x['wall'],2) for x in res[t]]}")
        b, n = (statistics.median(x["wall"] for x in res[k]) for k in ("base", "new"))
        print(f"new/base wall time = {n / b:.2f}")
        return
    size = args.size
    src = [str(SRC20)] if size == 20 else [str(SRC20 / "events-000.parquet")]
    for t in TREES:
        ds = OUT / f"ds-{t}-{size}"
        if not (ds / "manifest.json").exists():
            run(t, SPLIT.format(src=src, out=str(ds)))
    for r in range(reps):
        for t in TREES:
            ds = str(OUT / f"ds-{t}-{size}")
            code = (PASS.format(ds=ds, features=FEATURES, shuffle=(what == "shuffled")) if what in ("pass", "shuffled")
                    else FIT.format(ds=ds, features=FEATURES))
            settle()
            m = run(t, code)
            rate = m["samples"] / m["seconds"]
            res[t].append((rate, m["rss_mb"])); print(r, t, f"{rate:,.0f} samples/s {m['rss_mb']:.0f}MB", flush=True)
    for t in TREES:
        print(f"{t} {what} {size}M: median {statistics.median(x[0] for x in res[t]):,.0f} samples/s, "
              f"RSS {statistics.median(x[1] for x in res[t]):.0f}MB, runs {[round(x[0]) for x in res[t]]}")
    b, n = (statistics.median(x[0] for x in res[k]) for k in ("base", "new"))
    print(f"new/base = {n / b:.2f}")

if __name__ == "__main__":
    main()
