"""Training from object storage: DataGenerator over s3:// (a moto server on 127.0.0.1) with a cold
and a warm shard cache, against the same dataset on local disk.

    python benchmarks/bench_s3.py [--rows 1000000] [--repeats 3]

Splits a synthetic table by month and day, uploads the dataset to the moto server, then, each in a
fresh process, alternating contenders, measures samples/s of one shuffled pass (batch 1024, 16
float32 features + label) and of one model.fit epoch (Dense 64-64-1):
  * local: the dataset on local disk;
  * s3 cold: an empty cache_dir (every shard downloaded, sha256 checked);
  * s3 warm: the cache filled by the cold run (only manifest.json is fetched).
Prints medians and the warm/local ratio (target >= 0.9). moto serves from this machine's memory,
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

PASS = """
import os, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
from datagen import DataGenerator
kw = {kw}
t0 = time.perf_counter()
gen = DataGenerator({ds!r}, {features!r}, label='label', batch_size=1024, shuffle=True, seed=1, **kw)
n = 0
for i in range(len(gen)):
    n += len(gen[i][1])
RESULT = {{'samples': n, 'seconds': time.perf_counter() - t0}}
"""

FIT = """
import os, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
import keras
from datagen import DataGenerator
kw = {kw}
gen = DataGenerator({ds!r}, {features!r}, label='label', batch_size=1024, shuffle=True, seed=1, **kw)
model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation='relu'),
                          keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])
model.compile('adam', 'binary_crossentropy')
t0 = time.perf_counter()
model.fit(gen, epochs=1, verbose=0, callbacks=[gen.callback])
RESULT = {{'samples': gen.num_rows, 'seconds': time.perf_counter() - t0}}
"""


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
        results: dict[str, list[float]] = {}
        for _ in range(args.repeats):
            for what, code in (("pass", PASS), ("fit", FIT)):
                shutil.rmtree(cache, ignore_errors=True)
                for name, ds, kw in (("local", str(local), {}), ("s3 cold", url, {"cache_dir": cache}),
                                     ("s3 warm", url, {"cache_dir": cache})):
                    r = run_measured(code.format(ds=ds, features=FEATURES, kw=kw), env=env)
                    results.setdefault(f"{what} {name}", []).append(r["samples"] / r["seconds"])
        for key, values in results.items():
            print(f"{key:14s} {median(values):12,.0f} samples/s   (runs: {', '.join(f'{v:,.0f}' for v in values)})")
        for what in ("pass", "fit"):
            print(f"{what}: warm / local = {median(results[f'{what} s3 warm']) / median(results[f'{what} local']):.2f}, "
                  f"cold / local = {median(results[f'{what} s3 cold']) / median(results[f'{what} local']):.2f}")
        shutil.rmtree(work, ignore_errors=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
