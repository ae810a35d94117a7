"""How the manifest scales: a dataset whose manifest lists 100k shards (issue 15 item 7).

    python benchmarks/bench_manifest.py [--shards 100000] [--dir /tmp/bench-manifest]

Builds the dataset once (a real split of a small table by day and hour, then its manifest
grown to N shard entries, each a hard link of a real shard in its own day/hour directory, so
every check the reader makes still finds a real file), then times, each in a fresh process:
- opening it: ``DataGenerator(DIR, ...)`` construction (shards selected with ``where`` to one
  day, as a training run on recent data would) and ``datagen show``;
- committing an append of one day of new rows (``split-datasets DAY --out DIR --append``);
- reading version 1 of the grown dataset (``datagen show --version 1``).
Each measurement runs ``--repeats`` times (default 3; the machine is shared): the median and the
min-max of the wall time, and of the CPU time (user + system of the process and its children,
from ``getrusage``; in-process: ``time.process_time``), which the other load disturbs less.
Not a test: nothing asserts a timing; the target is < 2 s each.
"""
import argparse
import json
import os
import resource
import statistics
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from datagen.contract import shardtable, versions  # noqa: E402
PY = sys.executable
HOUR = 3600 * 10**9


def table(hour0: int, hours: int, rows_per_hour: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(hour0, hour0 + hours) * HOUR, rows_per_hour) + rng.integers(0, HOUR, hours * rows_per_hour)
    n = len(t)
    return pa.table({"t": pa.array(np.sort(t), pa.timestamp("ns", "UTC")), "x": rng.normal(size=n),
                     "y": rng.integers(0, 2, n)})


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(*args, env=None, cpu=False):
    """(wall seconds, stdout) of ``python *args``; with ``cpu``, (wall, cpu seconds, stdout)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    p = subprocess.run([PY, *args], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    wall, used = time.perf_counter() - t0, _children_cpu() - c0
    if p.returncode:
        raise SystemExit(p.stderr[-3000:])
    return (wall, used, p.stdout) if cpu else (wall, p.stdout)


def spread(values: list[float]) -> str:
    """``median s (min-max)`` of repeated measurements."""
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def report(name: str, walls: list[float], cpus: list[float], note: str = "") -> None:
    print(f"{name}: wall {spread(walls)}, CPU {spread(cpus)}{note}")


def build(base: Path, shards: int) -> Path:
    """A real split of 1 hour, then its manifest grown to ``shards`` entries (hard links of the real shard)."""
    out = base / "ds"
    if (out / "manifest.json").exists() and \
            len(shardtable.paths(json.loads((out / "manifest.json").read_text())["shards"])) == shards:
        return out
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    pq.write_table(table(0, 1, 50, 0), base / "seed.parquet")
    run("-m", "splitters.cli", str(base / "seed.parquet"), "--out", str(out), "--time-column", "t",
        "--group-by", "date,hour", "--label", "y", "--no-progress")
    m = json.loads((out / "manifest.json").read_text())
    first = versions.record_rows(m["shards"])[0]  # format 2 holds a table of columns, format 1 rows
    real = out / first["path"]
    entries = []
    for i in range(shards):  # hour i since the epoch: one shard per (date, hour) directory
        ns = i * HOUR
        date = np.datetime64(ns, "ns").astype("datetime64[D]").astype(str)
        hour = i % 24
        rel_dir = f"date={date}/hour={hour:02d}" if i else os.path.dirname(first["path"])
        path = f"{rel_dir}/{os.path.basename(first['path'])}"
        if i:
            (out / rel_dir).mkdir(parents=True, exist_ok=True)
            try:
                os.link(real, out / path)
            except OSError:  # too many links to one inode: start a new copy
                shutil.copyfile(real, out / path)
                real = out / path
        entries.append({**first, "path": path, "group": {"date": date, "hour": hour}})
    m["shards"] = shardtable.to_columns(entries) if m["format_version"] >= 2 else entries
    m["sources"][0]["rows_read"] = first["rows"] * shards  # one source; lineage ids stay in range
    for k, v in (("rows_read", first["rows"] * shards), ("rows_written", first["rows"] * shards),
                 ("shards", shards), ("groups", shards), ("bytes", first["bytes"] * shards)):
        m["totals"][k] = v
    # the grown dataset is version 1 (its record is the whole state, as a first split writes it)
    from datagen.contract.manifest import manifest_from_dict, render_manifest
    from datagen.contract.versions import make_record, record_text
    manifest = manifest_from_dict(m)
    text = render_manifest(manifest)
    (out / "manifest.json").write_text(text)
    (out / "_versions" / "00000001.json").write_text(record_text(make_record(
        None, None, manifest, "split", manifest.config, True)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", type=int, default=100_000)
    ap.add_argument("--dir", default="/tmp/bench-manifest")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    base = Path(args.dir)
    t0 = time.perf_counter()
    out = build(base, args.shards)
    size = (out / "manifest.json").stat().st_size
    print(f"dataset: {args.shards:,} shards, manifest {size / 1e6:.1f} MB (built in {time.perf_counter() - t0:.0f} s); "
          f"{args.repeats} runs each, median (min-max)")
    last_day = np.datetime64((args.shards - 1) * HOUR, "ns").astype("datetime64[D]").astype(str)
    gen = ("from datagen import DataGenerator\nimport time; t0, c0 = time.perf_counter(), time.process_time()\n"
           f"g = DataGenerator({str(out)!r}, ['x'], label='y', where=\"date == '{last_day}'\")\n"
           "print(f'{time.perf_counter() - t0:.3f} {time.process_time() - c0:.3f}')")
    run("-c", gen)  # the first run warms the page cache
    inner = [run("-c", gen)[1].split() for _ in range(args.repeats)]
    report("DataGenerator(...) construction, in-process (after importing datagen and Keras)",
           [float(w) for w, _ in inner], [float(c) for _, c in inner])
    shows = [run("-m", "datagen.app.cli", "show", str(out), cpu=True) for _ in range(args.repeats)]
    report("datagen show (whole process)", [w for w, _, _ in shows], [c for _, c, _ in shows])
    saved = (out / "manifest.json").read_bytes()
    day = base / "day.parquet"
    pq.write_table(table(args.shards, 24, 200, 1), day)
    appends, olds, said = [], [], ""
    for _ in range(args.repeats):
        try:
            wall, used, stdout = run("-m", "splitters.cli", str(day), "--out", str(out), "--append", "--no-progress",
                                     cpu=True)
            appends.append((wall, used))
            said = stdout.strip()
            olds.append(run("-m", "datagen.app.cli", "show", str(out), "--version", "1", cpu=True)[:2])
        finally:  # back to version 1, so the next run measures the same thing
            record = out / "_versions" / "00000002.json"
            if record.exists():
                for path in shardtable.paths(json.loads(record.read_text())["shards_added"]):
                    (out / path).unlink(missing_ok=True)
                record.unlink()
            (out / "manifest.json").write_bytes(saved)
    report("append of one day, 24 new shards (whole process)", [w for w, _ in appends], [c for _, c in appends],
           f" -- {said}")
    report("datagen show --version 1 after the append (whole process)", [w for w, _ in olds], [c for _, c in olds])


if __name__ == "__main__":
    main()
