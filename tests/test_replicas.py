"""Data-parallel sharding: num_replicas/replica give disjoint, equal, contiguous shares of each epoch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from datagen import DataGenerator
from datagen.contract.errors import ConfigError
from datagen.reader.epochview import EpochView
from gen_fixtures import FEATURES, source_rows

CHILD = Path(__file__).with_name("resume_fit_child.py")
OPTS = dict(label="label", batch_size=400, shuffle=True, seed=11, memory_budget="1MiB")  # as the child


@settings(deadline=None, max_examples=60)
@given(n=st.integers(1, 200), r=st.integers(1, 12), tail=st.sampled_from(["pad", "drop"]))
def test_shares_against_a_simple_reference(n, r, tail):
    if tail == "drop" and n < r:
        with pytest.raises(ConfigError, match="num_replicas"):
            EpochView(n, r, 0, tail)
        return
    shares = [EpochView(n, r, k, tail).plan_batches_of_epoch() for k in range(r)]
    per = n // r if tail == "drop" else -(-n // r)
    assert all(len(s) == per for s in shares)                    # equal in number
    flat = [b for s in shares for b in s]
    if tail == "drop":
        assert flat == list(range(per * r))                       # disjoint; union = the epoch minus its tail
        assert EpochView(n, r, 0, tail).dropped == n - per * r
    else:
        assert flat == [i % n for i in range(per * r)]  # every batch once, then pad repeats from the epoch's start
    for s in shares:                                              # contiguous blocks (pad may wrap once)
        assert all(b == (a + 1) % n for a, b in zip(s, s[1:]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_replicas=0), "num_replicas"), (dict(num_replicas=2, replica=2), "replica"),
    (dict(replica=-1), "replica"), (dict(num_replicas=True), "num_replicas"), (dict(replica_tail="wrap"), "replica_tail"),
    (dict(num_replicas=100, replica_tail="drop"), "num_replicas=100"),
])
def test_bad_replica_options_are_one_line_errors(dataset, kwargs, message):
    with pytest.raises(ConfigError) as info:
        DataGenerator(dataset, FEATURES, **{**OPTS, **kwargs})
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("batch_size, tail", [(400, "pad"), (700, "pad"), (700, "drop")])
def test_replica_batches_and_provenance_are_the_single_replica_epoch(dataset, batch_size, tail):
    opts = {**OPTS, "batch_size": batch_size}
    whole = DataGenerator(dataset, FEATURES, **opts)
    n, r = len(whole), 4
    reps = [DataGenerator(dataset, FEATURES, num_replicas=r, replica=k, replica_tail=tail, **opts) for k in range(r)]
    assert len({len(g) for g in reps}) == 1
    got = [(g.provenance(b, 1), g[b]) for g in reps for b in range(len(g)) if not g.set_epoch(1)]
    kept = n - reps[0].view.dropped
    for b, (prov, batch) in enumerate(got):
        want = b % n
        assert prov.equals(whole.provenance(want, 1))
        np.testing.assert_array_equal(batch[0], whole.source.batch(want, 1)[0])
    assert len(got) == (kept if tail == "drop" else -(-n // r) * r)


def test_contiguous_shares_decode_fewer_windows(dataset):
    """Each replica's batches touch about 1/R of the epoch's windows (plus one at a boundary)."""
    whole = DataGenerator(dataset, FEATURES, **{**OPTS, "batch_size": 100})
    windows = lambda g, e: {w.index for b in range(len(g)) for w, _, _ in
                            g.source.plan.segments(e, g.view.plan_batch(b))}
    total = len(windows(whole, 0))
    r = 3
    for k in range(r):
        g = DataGenerator(dataset, FEATURES, num_replicas=r, replica=k, **{**OPTS, "batch_size": 100})
        assert len(windows(g, 0)) <= total // r + 2, (len(windows(g, 0)), total)


def test_two_replica_processes_train_the_single_replica_epoch(dataset, sources, tmp_path):
    """Two processes, replica 0 and 1 of 2, each a real model.fit: the provenance of what they trained,
    replica 0's then replica 1's, is the single-replica epoch, batch for batch."""
    procs = []
    for k in range(2):
        work = tmp_path / f"r{k}"
        work.mkdir()
        procs.append(subprocess.Popen(
            [sys.executable, str(CHILD), str(dataset), str(work), "2", "1000", "0", str(work / "log"), "2", str(k)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}))
    for p in procs:
        err = p.communicate(timeout=900)[1]
        assert p.returncode == 0, err[-3000:]
    whole = DataGenerator(dataset, FEATURES, **OPTS)
    n = len(whole)
    logs = [[json.loads(line) for line in (tmp_path / f"r{k}" / "log").read_text().splitlines()] for k in range(2)]
    for epoch in range(2):
        trained = [r["x"] for log in logs for r in log if r["epoch"] == epoch]
        assert len(trained) == n
        for b, x in enumerate(trained):
            truth = source_rows(sources, whole.provenance(b, epoch))[FEATURES].to_numpy(np.float32)
            np.testing.assert_array_equal(np.asarray(x, np.float32), truth)
