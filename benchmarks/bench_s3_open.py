"""Opening a many-shard dataset in object storage (``bench_s3.py --open-shards N``).

Builds (once, kept under benchmarks/data/s3-open-N) a real split of N hours x 5 rows grouped by
date and hour (N shards), uploads it to a moto server on 127.0.0.1 with its footer pack (as a split
into a bucket writes it), then times, each in a fresh process, alternating contenders:
  * ``DataGenerator(...)`` construction: local disk; s3 cold (empty cache_dir); s3 warm (the cache
    the cold run filled);
  * ``datagen show``: local disk; s3.
Prints per contender the median and min-max of the wall and CPU seconds of the operation alone
(inside the process, after imports) and the number of requests the server received. Not a test.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import DATA, median, run_measured  # noqa: E402

HOUR = 3600 * 10**9

TIMED = """
import os, resource, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
{imports}
def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
w0, c0 = time.perf_counter(), _cpu()
{body}
RESULT = {{'op_wall': time.perf_counter() - w0, 'op_cpu': _cpu() - c0}}
"""
GEN = dict(imports="from datagen import DataGenerator",
           body="gen = DataGenerator({ds!r}, ['x'], label='y', batch_size=256, shuffle=True, seed=1, **{kw!r})")
SHOW = dict(imports="import io, contextlib\nfrom datagen.app.cli import main",
            body="with contextlib.redirect_stdout(io.StringIO()):\n"
                 "    try:\n        main(['show', {ds!r}], standalone_mode=False)\n"
                 "    except SystemExit as e:\n        assert not e.code, e.code")


def build_local(shards: int) -> Path:
    """A real split of ``shards`` hours (5 rows each) by date and hour: one shard per hour."""
    base = DATA / f"s3-open-{shards}"
    out = base / "ds"
    if (base / ".complete").exists():
        return out
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    from bench_manifest import table

    from splitters.config import SplitConfig
    from splitters.split import run_split

    pq.write_table(table(0, shards, 5, 0), base / "src.parquet")
    t0 = time.perf_counter()
    run_split(SplitConfig(inputs=[str(base / "src.parquet")], out=str(out), time_column="t",
                          group_by=["date", "hour"], label="y", progress=False))
    (base / ".complete").write_text("ok\n")
    print(f"split {shards:,} shards locally in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def upload(local: Path, fs, prefix: str) -> None:
    """The shards, their footer pack and the manifest naming it (last), as a split into a bucket leaves them."""
    import dataclasses

    from datagen.contract import footerpack
    from datagen.contract.manifest import read_manifest, render_manifest

    manifest = read_manifest(local)
    fs.put([str(local / s.path) for s in manifest.shards], [f"{prefix}/{s.path}" for s in manifest.shards])
    tails = [footerpack.footer_tail((local / s.path).read_bytes()) for s in manifest.shards]
    raw, pack = footerpack.build(tails, [s.sha256 for s in manifest.shards])
    fs.pipe_file(f"{prefix}/{pack.path}", raw)
    fs.pipe_file(f"{prefix}/manifest.json", render_manifest(dataclasses.replace(manifest, footer_pack=pack)).encode())


class _Count(logging.Handler):
    def __init__(self):
        super().__init__()
        self.n = 0

    def emit(self, record):
        self.n += 1


def run(shards: int, repeats: int, env: dict) -> None:
    import boto3
    import s3fs

    local = build_local(shards)
    boto3.client("s3").create_bucket(Bucket="open")
    t0 = time.perf_counter()
    upload(local, s3fs.S3FileSystem(), "open/ds")
    print(f"uploaded {shards:,} shards to moto in {time.perf_counter() - t0:.0f} s")
    counter = _Count()
    log = logging.getLogger("werkzeug")
    log.handlers, log.propagate = [counter], False  # counted, not printed
    log.setLevel(logging.INFO)
    cache = str(DATA / f"s3-open-{shards}" / "cache")
    url = "s3://open/ds"
    results: dict[str, list[dict]] = {}
    for _ in range(repeats):
        shutil.rmtree(cache, ignore_errors=True)
        for name, spec, ds, kw in (("open local", GEN, str(local), {}),
                                   ("open s3 cold", GEN, url, {"cache_dir": cache}),
                                   ("open s3 warm", GEN, url, {"cache_dir": cache}),
                                   ("show local", SHOW, str(local), {}),
                                   ("show s3", SHOW, url, {})):
            before = counter.n
            code = TIMED.format(imports=spec["imports"], body=spec["body"].format(ds=ds, kw=kw))
            r = run_measured(code, env=env)
            r["requests"] = counter.n - before
            results.setdefault(name, []).append(r)
    print(f"{shards:,} shards, {repeats} alternated runs each (op = the operation alone, after imports):")
    for name, runs in results.items():
        w = [r["op_wall"] for r in runs]
        c = [r["op_cpu"] for r in runs]
        print(f"  {name:13s} wall {median(w):6.2f} s ({min(w):.2f}-{max(w):.2f})   CPU {median(c):6.2f} s "
              f"({min(c):.2f}-{max(c):.2f})   requests {sorted({r['requests'] for r in runs})}")
    print(f"load average: {os.getloadavg()[0]:.1f}, {os.getloadavg()[1]:.1f}, {os.getloadavg()[2]:.1f}")


if __name__ == "__main__":  # pragma: no cover - use bench_s3.py --open-shards N
    raise SystemExit("run: python benchmarks/bench_s3.py --open-shards N")
