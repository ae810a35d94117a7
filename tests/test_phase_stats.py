"""The per-phase timers (reader/phases.py) the benchmark prints: off unless asked for, counting every
``batch()`` call of a pass and every ``batch_run()`` of ``as_tf_dataset``, without changing a batch."""

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
