"""The next epoch's first window is decoded during this epoch's last window when model.fit (with
``gen.callback``) has another epoch to run, never after fit's last epoch, and never without the callback
(nextepoch.py); the batches trained stay those of ``gen[i]``."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from datagen import DataGenerator
from datagen.reader.epochview import EpochView
from datagen.reader.nextepoch import follow
from datagen.reader.plan import EpochPlan, Unit
from gen_fixtures import FEATURES


def _model():
    m = keras.Sequential([keras.Input((len(FEATURES),)), keras.layers.Dense(1, activation="sigmoid")])
    m.compile("sgd", "binary_crossentropy")
    return m


def _log_warms(gen):
    """Every background decode request: (epoch asked for, window index, the epoch gen serves then)."""
    log = []
    warm = gen.source.windows.warm

    def logged(epoch, window):
        log.append((epoch, window.index, gen.epoch))
        warm(epoch, window)

    gen.source.windows.warm = logged
    return log


def _first_window(gen, epoch):
    return gen.source.plan.segments(epoch, gen.view.plan_batch(0))[0][0].index


@pytest.mark.parametrize("tf_dataset", [False, True])
def test_next_epoch_first_window_is_decoded_ahead(dataset, tf_dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=500, shuffle=True, seed=3,
                        memory_budget="1MiB")
    assert len(gen.source.plan.windows(0)[0]) >= 3
    log = _log_warms(gen)
    data = gen.as_tf_dataset() if tf_dataset else gen
    _model().fit(data, epochs=4, initial_epoch=1, verbose=0, shuffle=False, callbacks=[gen.callback])
    for epoch in (2, 3):
        assert (epoch, _first_window(gen, epoch), epoch - 1) in log  # asked for while epoch - 1 was served
    assert all(asked <= 3 for asked, _, _ in log)  # nothing decoded for an epoch fit does not run
    assert gen.source.follow is None  # fit is over


def test_without_the_callback_nothing_is_decoded_ahead(dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=500, shuffle=True, seed=3,
                        memory_budget="1MiB")
    log = _log_warms(gen)
    _model().fit(gen, epochs=2, verbose=0, shuffle=False)
    assert gen.source.follow is None
    assert all(asked == served for asked, _, served in log)


def test_batches_unchanged_when_decoded_ahead(dataset):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=700, shuffle=True, seed=5,
                        memory_budget="1MiB")
    ref = DataGenerator(dataset, FEATURES, label="label", batch_size=700, shuffle=True, seed=5,
                        memory_budget="1MiB")
    gen._begin_epoch_from_fit(0, 2)  # what gen.callback does when fit begins epoch 0 of 2
    assert gen.source.follow is not None
    for i in range(len(gen)):
        for a, b in zip(gen[i], ref.source.batch(i, 0)):
            np.testing.assert_array_equal(a, b)
    gen._begin_epoch_from_fit(1, 2)
    assert gen.source.follow is None
    for i in range(len(gen)):
        for a, b in zip(gen[i], ref.source.batch(i, 1)):
            np.testing.assert_array_equal(a, b)


@settings(deadline=None, max_examples=40)
@given(rows=st.lists(st.integers(1, 900), min_size=1, max_size=12), batch=st.integers(1, 700),
       window=st.integers(1, 2000), replicas=st.integers(1, 3), data=st.data())
def test_follow_names_the_last_window_and_the_next_first_batch(rows, batch, window, replicas, data):
    plan = EpochPlan([Unit(i, 0, 0, r) for i, r in enumerate(rows)], batch, False, True, 1, window)
    if plan.num_batches < replicas:
        return
    replica = data.draw(st.integers(0, replicas - 1))
    view = EpochView(plan.num_batches, replicas, replica, "pad")
    f = follow(plan, view, 4, 5)
    served = [view.plan_batch(b) for b in range(view.per_replica)]
    last_window = plan.segments(4, served[-1])[-1][0].index
    for b in served:  # a batch triggers the decode iff it lies in the replica's last window used
        in_last = plan.segments(4, b)[-1][0].index == last_window and b <= served[-1]
        assert f.due(4, b, b + 1) == in_last
    assert not f.due(5, served[-1], served[-1] + 1)
    assert f.next_first == served[0]
