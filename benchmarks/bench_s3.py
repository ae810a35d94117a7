"""Training from object storage: DataGenerator over s3:// (a moto server on 127.0.0.1) with a cold
and a warm shard cache, against the same dataset on local disk.

    python benchmarks/bench_s3.py [--rows 1000000] [--repeats 5]
    python benchmarks/bench_s3.py --open-shards 10000 [--repeats 5]   (opening; see bench_s3_open.py)

Splits a synthetic table by month and day, uploads the dataset to the moto server, then, each in a
fresh process, alternating contenders, measures samples/s of one shuffled pass (batch 1024, 16
float32 features + label) and of one model.fit epoch (Dense 64-64-1):
  * local: the dataset on local disk;
  * s3 cold: an empty cache_dir (every shard downloaded, sha256 checked);
  * s3 warm: the cache filled by the cold run (only manifest.json is fetched).
Prints medians with min-max of >= 5 alternated runs (--repeats), the CPU seconds of the operation,
the pass rate with and without the construction (opening: the s3fs import and the manifest GET),
the warm/local ratio (target >= 0.9) and the load average while it ran. moto serves from this machine's memory,
so "cold" measures the download path's overhead, not a real network. Not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, median, run_measured  # noqa: E402

FEATURES = [f"f{i}" for i in range(16)]

CLOCKS = """
import os, resource, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
"""
PASS = CLOCKS + """
from datagen import DataGenerator
kw = {kw}
t0, c0 = time.perf_counter(), _cpu()
gen = DataGenerator({ds!r}, {features!r}, label='label', batch_size=1024, shuffle=True, seed=1, **kw)
t1 = time.perf_counter()
n = 0
for i in range(len(gen)):
    n += len(gen[i][1])
RESULT = {{'samples': n, 'seconds': time.perf_counter() - t0, 'epoch': time.perf_counter() - t1,
          'op_cpu': _cpu() - c0}}
"""

FIT = CLOCKS + """
import keras
from datagen import DataGenerator
kw = {kw}
gen = DataGenerator({ds!r}, {features!r}, label='label', batch_size=1024, shuffle=True, seed=1, **kw)
model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation='relu'),
                          keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])
model.compile('adam', 'binary_crossentropy')
t0, c0 = time.perf_counter(), _cpu()
model.fit(gen, epochs=1, shuffle=False, verbose=0, callbacks=[gen.callback])
RESULT = {{'samples': gen.num_rows, 'seconds': time.perf_counter() - t0, 'epoch': time.perf_counter() - t0,
          'op_cpu': _cpu() - c0}}
"""


def _spread(values, fmt="{:,.0f}") -> str:
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(results: dict[str, list[dict]], repeats: int) -> None:
    """Medians (min-max) of samples/s (the whole run, and the epoch alone after construction for a pass)
    and of CPU seconds, then warm/local and cold/local: the ratio of medians and its per-repeat range."""
    print(f"{repeats} alternated runs each, fresh processes; samples/s median (min-max); CPU s of the operation")
    for key, runs in results.items():
        rate = [r["samples"] / r["seconds"] for r in runs]
        epoch = [r["samples"] / r["epoch"] for r in runs]
        extra = f"   epoch only {_spread(epoch)}" if key.startswith("pass") else ""
        print(f"  {key:13s} {_spread(rate)} samples/s{extra}   CPU {_spread([r['op_cpu'] for r in runs], '{:.2f}')} s")
    for what in ("pass", "fit"):
        local = [r["samples"] / r["seconds"] for r in results[f"{what} local"]]
        for name in ("s3 warm", "s3 cold"):
            other = [r["samples"] / r["seconds"] for r in results[f"{what} {name}"]]
            pairs = [o / v for o, v in zip(other, local)]
            print(f"  {what}: {name} / local = {median(other) / median(local):.2f} "
                  f"(per repeat {min(pairs):.2f}-{max(pairs):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--open-shards", type=int, default=0, metavar="N",
                    help="instead: time opening an N-shard dataset (bench_s3_open.py)")
    args = ap.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    os.environ.update(env)
    try:
        if args.open_shards:
            import bench_s3_open

            return bench_s3_open.run(args.open_shards, args.repeats, env)
        import boto3
        import s3fs

        from datagen.app.sample import write_sample
        from splitters.config import SplitConfig
        from splitters.split import run_split

        work = DATA / f"s3bench-{args.rows}"
        shutil.rmtree(work, ignore_errors=True)
        write_sample(work / "src", files=2, rows_per_file=args.rows // 2, seed=2024, features=16)
        local = work / "ds"
        run_split(SplitConfig(inputs=[str(work / "src")], out=str(local), time_column="event_time",
                              group_by=["month", "day"], label="label", progress=False))
        boto3.client("s3").create_bucket(Bucket="bench")
        fs = s3fs.S3FileSystem()
        for root, _, files in os.walk(local):
            for name in files:
                p = os.path.join(root, name)
                fs.put_file(p, f"bench/ds/{os.path.relpath(p, local)}")
        url = "s3://bench/ds"
        cache = str(work / "cache")
        results: dict[str, list[dict]] = {}
        loads = []
        for _ in range(args.repeats):
            for what, code in (("pass", PASS), ("fit", FIT)):
                shutil.rmtree(cache, ignore_errors=True)
                for name, ds, kw in (("local", str(local), {}), ("s3 cold", url, {"cache_dir": cache}),
                                     ("s3 warm", url, {"cache_dir": cache})):
                    r = run_measured(code.format(ds=ds, features=FEATURES, kw=kw), env=env)
                    results.setdefault(f"{what} {name}", []).append(r)
                    loads.append(os.getloadavg()[0])
        report(results, args.repeats)
        print(f"load average (1 min) during the runs: median {median(loads):.1f}, {min(loads):.1f}-{max(loads):.1f} "
              f"on {os.cpu_count()} cores")
        shutil.rmtree(work, ignore_errors=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
