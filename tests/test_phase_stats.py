"""The per-phase timers (reader/phases.py) the benchmark prints: off unless asked for, counting every
``batch()`` call of a pass and every ``batch_run()`` of ``as_tf_dataset``, without changing a batch."""

import time

import numpy as np

from datagen import DataGenerator
from datagen.reader import tfdata
from gen_fixtures import FEATURES


def _gen(dataset):
    return DataGenerator(dataset, FEATURES, label="label", batch_size=700, shuffle=True, seed=3,
                         memory_budget="1MiB")


def test_timers_are_off_by_default_and_count_a_pass(dataset):
    plain, timed = _gen(dataset), _gen(dataset)
    assert plain.source.stats is None and plain.source.decoder.stats is None
    stats = timed.source.phase_stats()
    for i in range(len(timed)):
        for a, b in zip(plain[i], timed[i]):
            np.testing.assert_array_equal(a, b)
    counts = {k: v["count"] for k, v in stats.as_dict().items()}
    assert counts["batch"] == counts["gather"] == counts["wait"] == len(timed)
    windows = len(timed.source.plan.windows(0)[0])
    assert counts["permutation"] == windows
    assert counts["read"] == counts["row-major"] == len(timed.source.plan.units)
    assert all(v["seconds"] >= 0 for v in stats.as_dict().values())
    assert all(v["cpu"] >= 0 for v in stats.as_dict().values())  # this thread's CPU seconds, beside the wall


def test_phase_cpu_seconds_are_the_threads_cpu_time():
    from datagen.reader.phases import PhaseStats, lap, start

    stats = PhaseStats()
    t = start(stats)
    time.sleep(0.05)  # wall passes, this thread's CPU hardly does
    t = lap(stats, "sleep", t)
    x = 0
    while time.thread_time() - t[1] < 0.05:
        x += 1
    lap(stats, "spin", t)
    got = stats.as_dict()
    assert got["sleep"]["seconds"] >= 0.05 > got["sleep"]["cpu"] * 2
    assert got["spin"]["cpu"] >= 0.05 and got["spin"]["count"] == 1
    assert start(None) == lap(None, "off", t) == (0.0, 0.0)


def test_as_tf_dataset_runs_are_timed(dataset, monkeypatch):
    monkeypatch.setattr(tfdata, "CHUNK_ROWS", 3 * 700)  # runs of 3 batches
    gen = _gen(dataset)
    stats = gen.source.phase_stats()
    ds = gen.as_tf_dataset()
    stats.reset()  # as_tf_dataset reads one batch for the element spec
    assert sum(1 for _ in ds) == len(gen)
    runs = tfdata._runs(gen.view.plan_batches_of_epoch(), 3, None if gen.source.plan.total_rows % 700 == 0
                        else gen.source.plan.num_batches - 1)
    assert stats.as_dict()["batch"]["count"] == len(runs) < len(gen)
