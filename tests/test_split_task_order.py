"""The split's tasks start in the order planned (issue 14): the local engine keeps list order,
reduce tasks go biggest first with a tail of small ones, each source's fingerprint task follows its
last staged unit, and pandas is imported in the background, not before the split starts."""

import subprocess
import sys
import threading
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from splitters.engine import Engine
from splitters.plan import batch_jobs, job_rows
from splitters.reduce import GroupJob
from splitters.plan import stage_work
from splitters.stage import WorkUnit
from splitters.sources import SourceFile

ROOT = Path(__file__).resolve().parent.parent


def test_local_engine_starts_tasks_in_list_order():
    started, lock = [], threading.Lock()

    def note(i):
        with lock:
            started.append(i)
        return i * 2

    with Engine("local", workers=1) as engine:   # one thread: the start order is exactly the plan's
        assert engine.map(note, list(range(60))) == [i * 2 for i in range(60)]
    assert started == list(range(60))


def test_local_engine_does_not_let_dask_walk_the_items(monkeypatch):
    """dask walks every list, tuple, dict and dataclass in a task's arguments looking for dask objects
    (``unpack_collections``): 0.27 s of the driver's time for a 20M-row split's group jobs. The
    engine's tasks take their arguments whole, and receive the very objects."""
    delayed_module = sys.modules["dask.delayed"]   # ``dask.delayed`` names the function
    walked = []
    real = delayed_module.unpack_collections

    def spy(expr, *args, **kwargs):
        walked.append(id(expr))
        return real(expr, *args, **kwargs)

    monkeypatch.setattr(delayed_module, "unpack_collections", spy)
    item = [("f", i, i) for i in range(50_000)]
    extra = {"ctx": [1, 2, 3]}
    seen = []

    def keep(got, more):
        seen.append((got, more))
        return len(got)

    with Engine("local", workers=2) as engine:
        assert engine.map(keep, [item, item[:10]], extra) == [50_000, 10]
    assert id(item) not in walked and id(extra) not in walked
    assert any(got is item for got, _ in seen) and all(more is extra for _, more in seen)


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=80), target=st.integers(1, 20000),
       min_tasks=st.integers(1, 16))
def test_reduce_tasks_biggest_first_with_a_short_tail(sizes, target, min_tasks):
    jobs = [GroupJob(i, f"g={i}", {"g": i}, (("f", 0, n),)) for i, n in enumerate(sizes)]
    batches = batch_jobs(jobs, target_rows=target, min_tasks=min_tasks)
    assert sorted(j.index for b in batches for j in b) == list(range(len(jobs)))   # every job once
    rows = [sum(job_rows(j) for j in b) for b in batches]
    assert rows == sorted(rows, reverse=True)
    per_task = max(1, min(target, -(-sum(sizes) // min_tasks)))
    for b, n in zip(batches, rows):   # a task exceeds its size only when it is one job
        assert n <= per_task or len(b) == 1
        assert [j.index for j in b] == sorted(j.index for j in b)   # consecutive groups, in order
    if sum(sizes) > 2 * per_task * max(1, min_tasks // 4) and max(sizes) <= per_task // 4:
        assert rows[-1] <= per_task // 4   # the last task is a short one


def _source(i: int) -> SourceFile:
    return SourceFile(id=i, url=f"/data/s{i}.parquet", format="parquet", bytes=100, mtime=None, etag=None)


def test_fingerprint_task_follows_its_sources_last_unit():
    sources = [_source(i) for i in range(4)]
    layout = [0, 0, 0, 1, 2, 2, 3]   # source 1: one unit read whole (and hashed) by its own task
    units = [WorkUnit(k, s, f"/data/s{s}.parquet", "parquet") for k, s in enumerate(layout)]
    work = stage_work(sources, units, whole={3}, known={2: "abc"}, once={1})
    kinds = [(kind, item.index if kind != "sha256" else item) for kind, item in work]
    assert kinds == [("stage", 0), ("stage", 1), ("stage", 2), ("sha256", "/data/s0.parquet"),
                     ("stage+sha256", 3), ("stage", 4), ("stage", 5),   # source 2's fingerprint is known
                     ("stage", 6), ("sha256", "/data/s3.parquet")]


def test_pandas_is_not_imported_before_the_split_starts():
    code = ("import sys\nfrom splitters.split import run_split\nimport splitters.cli\n"
            "assert 'pandas' not in sys.modules, 'pandas imported'\n"
            "from splitters import prewarm\nt = prewarm.start()\nt.join()\n"
            "assert 'pandas' in sys.modules and prewarm.start() is None\nprint('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_split_collects_less_often_and_restores_the_collector(sample_parquet, tmp_path, monkeypatch):
    import gc

    from splitters import gctune
    from splitters import split as split_module
    from splitters.config import SplitConfig

    before, seen = gc.get_threshold(), []
    discover = split_module.discover

    def noting(*args):   # called inside the split
        seen.append((gc.get_threshold()[0], gc.get_freeze_count()))
        return discover(*args)

    monkeypatch.setattr(split_module, "discover", noting)
    s = split_module.run_split(SplitConfig(inputs=[str(sample_parquet)], out=str(tmp_path / "out"),
                                           time_column="event_time", group_by=["month"], progress=False))
    assert s.rows == 12_000
    assert len(seen) == 1 and seen[0][0] >= gctune.YOUNG and seen[0][1] > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0   # the caller's settings again
    try:   # an error leaves everything as it was too
        with gctune.fewer_collections():
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


@settings(max_examples=30, deadline=None)
@given(size=st.sampled_from([0, 1, 4095]) | st.integers(0, 3).flatmap(
    lambda k: st.integers(-2, 2).map(lambda d: max(0, k * (1 << 20) + d))), seed=st.integers(0, 2**32 - 1))
def test_local_file_fingerprint_is_the_sha256_of_its_bytes(tmp_path_factory, size, seed):
    """sha256_file reads a local file into one reused buffer: the digest at and around its chunk
    boundaries is hashlib's over the whole content."""
    import hashlib
    import random

    from datagen.contract.hashing import LOCAL_CHUNK, sha256_file

    assert LOCAL_CHUNK == 1 << 20
    data = random.Random(seed).randbytes(size)
    path = tmp_path_factory.mktemp("h") / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path) == sha256_file(str(path)) == hashlib.sha256(data).hexdigest()
