"""A shuffled window's row order is drawn while the reader threads read its shards (windows.py,
decode.py ``meanwhile``), not before they start, and the batches stay those of the plan."""

import threading

import numpy as np

from gen_fixtures import FEATURES, dataset  # noqa: F401


def test_row_order_is_drawn_while_the_shards_are_read(dataset):  # noqa: F811
    from datagen import DataGenerator

    kw = dict(label="label", batch_size=500, shuffle=True, seed=3, memory_budget="600KB")
    g = DataGenerator(dataset, FEATURES, **kw)
    source = g.source
    assert all(len({u.shard for u in w.units}) > 1 for w in source.plan.windows(0)[0][:-1])
    started: set = set()  # units whose shard read has started
    cond = threading.Condition()
    seen = []  # per window of several shards: had one of its reads started when its order was drawn?
    decode_shard, window_order = source.decoder._decode_shard, source.plan.window_order

    def read(shard, units, dest):
        with cond:
            started.update(units)
            cond.notify_all()
        return decode_shard(shard, units, dest)

    def order(epoch, window, out=None):
        if len({u.shard for u in window.units}) > 1:  # one shard: read in this thread, after the order
            with cond:  # before the change the reads were only submitted after this returned
                seen.append(cond.wait_for(lambda: started.intersection(window.units), timeout=10))
        return window_order(epoch, window, out)

    source.decoder._decode_shard, source.plan.window_order = read, order
    got = [g[i] for i in range(len(g))]
    assert len(seen) >= 3 and all(seen)
    want = DataGenerator(dataset, FEATURES, **kw)
    for i, (x, y) in enumerate(got):
        wx, wy = want[i]
        np.testing.assert_array_equal(x, wx)
        np.testing.assert_array_equal(y, wy)
