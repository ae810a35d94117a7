"""Resume benchmark: resuming mid-epoch costs no more than reading the remaining batches.

    python benchmarks/bench_resume.py [--rows 2M | --dataset DIR] [--at 0.5] [--epoch 1] [--repeats 5]

Three contenders, each in a fresh process, alternated, on the same split (month/day of the
benchmark table; ``--dataset`` uses one as is):

- ``resume``: ``DataGenerator(...)``, ``restore(state)`` with a state at step k of epoch E (the
  state ``gen.checkpoint`` would have written), then every batch ``len(gen)`` serves;
- ``remaining batches``: ``DataGenerator(...)``, ``set_epoch(E)``, then batches k..N-1 by index:
  the same batches read without any resume machinery (what resuming cannot beat);
- ``whole epoch``: batches 0..N-1 of epoch E, what a restart from batch 0 (Keras's
  ``BackupAndRestore`` alone) reads.

Each process times construction + restore + its batches, wall and CPU (all threads), and hashes
every batch: the resume's batches must be exactly the remaining batches (checked; the run stops
otherwise). Prints medians with the spread of resume / remaining and resume / whole epoch, by wall
(construction included) and by CPU (less that of a process that only opens the generator). Not a
test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generator import dataset_rows, ensure_dataset, rows_arg, spread  # noqa: E402
from common import DATA, run_measured, settle  # noqa: E402

FEATURES = [f"f{i}" for i in range(16)]
PRELUDE = """
import hashlib
from datagen import DataGenerator
from datagen.reader.resume import make_state
t_open, c_open = time.perf_counter(), time.process_time()
gen = DataGenerator({ds!r}, {features!r}, label='label', batch_size={batch}, shuffle=True, seed=7)
N = len(gen)
k = int(N * {at})
"""
BODY = {
    "resume": """
state = make_state(gen, {epoch}, k)
gen.restore(state)
indices, tail_from = range(len(gen)), 0  # served from batch k on
""",
    "remaining batches": """
gen.set_epoch({epoch})
indices, tail_from = range(k, N), k
""",
    "whole epoch": """
gen.set_epoch({epoch})
indices, tail_from = range(N), k
""",
    "open only": """
indices, tail_from = range(0), 0
""",
}
EPILOGUE = """
tail, samples = hashlib.sha256(), 0
for i in indices:
    x, y = gen[i]
    samples += len(y)
    if i >= tail_from:  # the batches after step k of the uninterrupted epoch
        tail.update(x.tobytes()); tail.update(y.tobytes())
RESULT = {{'seconds': time.perf_counter() - t_open, 'cpu_open': time.process_time() - c_open, 'samples': samples, 'batches': len(indices), 'N': N, 'k': k,
           'tail': tail.hexdigest()}}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=rows_arg, default=2, help="millions of rows of the split to make (default 2M)")
    ap.add_argument("--dataset", type=Path, default=None, help="a month/day split of the benchmark table, used as is")
    ap.add_argument("--data", type=Path, default=DATA, help="where the split is made")
    ap.add_argument("--at", type=float, default=0.5, help="resume after this fraction of the epoch (default 0.5)")
    ap.add_argument("--epoch", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if not 0 < args.at < 1:
        raise SystemExit(f"--at: expected a fraction between 0 and 1, got {args.at}")
    ds = args.dataset if args.dataset is not None else ensure_dataset(args.rows, args.data)
    if not (ds / "manifest.json").exists():
        raise SystemExit(f"--dataset: {str(ds)!r} has no manifest.json; give a directory written by split-datasets")
    runs: dict[str, list[dict]] = {k: [] for k in BODY}
    for rep in range(args.repeats):
        for name, body in BODY.items():
            code = (PRELUDE.format(ds=str(ds), features=FEATURES, batch=args.batch_size, at=args.at)
                    + body.format(epoch=args.epoch) + EPILOGUE.format())
            settle()
            r = run_measured(code)
            runs[name].append(r)
            print(f"  run {rep + 1} {name:18s} {r['batches']:6d} batches {r['seconds']:7.2f} s wall "
                  f"{r['cpu_open']:7.2f} s CPU {r['rss_mb']:6.0f} MB", file=sys.stderr, flush=True)
    resumed, remaining = runs["resume"], runs["remaining batches"]
    if {r["tail"] for r in resumed} != {r["tail"] for r in remaining} or len({r["tail"] for r in resumed}) != 1:
        raise SystemExit("the resumed batches differ from the remaining batches of the epoch: a bug, not a timing")
    base = [r["cpu_open"] for r in runs["open only"]]
    n, k = resumed[0]["N"], resumed[0]["k"]
    print(f"{dataset_rows(ds):,} rows ({ds}); epoch {args.epoch}, {n} batches of {args.batch_size}, resumed at step "
          f"{k}: {n - k} batches remain; {args.repeats} alternated runs, median (min-max)")
    for other in ("remaining batches", "whole epoch"):
        wall = [a["seconds"] / b["seconds"] for a, b in zip(resumed, runs[other])]
        cpu = [(a["cpu_open"] - c) / (b["cpu_open"] - c) for a, b, c in zip(resumed, runs[other], base)]
        print(f"resume / {other}: wall {spread(wall, '.2f')}x, CPU {spread(cpu, '.2f')}x "
              f"(from the generator's construction on; CPU less that of opening it)")
    for name, rs in runs.items():
        print(f"  {name:18s} wall {spread([r['seconds'] for r in rs], '.2f')} s, CPU {spread([r['cpu_open'] for r in rs], '.2f')} s")


if __name__ == "__main__":
    main()
