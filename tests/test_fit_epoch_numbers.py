"""Which generator epoch each fit epoch trains, across several fits of one generator, on both paths
(``fit(gen)`` and ``fit(gen.as_tf_dataset())``): a fit with ``gen.callback`` trains fit's own epochs; after
it, a fit without the callback counts on from the epoch after its last (it used to repeat the last one
for ever); passes count on from ``set_epoch`` and ``restore`` too; and ``steps_per_epoch`` other than an
epoch's batches is refused when fit runs several epochs (Keras would carry its iterator across them)."""

import keras
import numpy as np
import pytest

from datagen import DataGenerator
from datagen.contract.errors import ConfigError
from gen_fixtures import FEATURES
from keras_recorder import Recorder

OPTS = dict(label="label", batch_size=2000, shuffle=True, seed=11, memory_budget="1MiB")


def trained_epochs(gen, model) -> list[int]:
    """The generator epoch of each fit epoch the model trained (every batch checked against gen's own)."""
    n = len(gen)
    assert len(model.seen) % n == 0
    found = []
    for k in range(0, len(model.seen), n):
        match = [e for e in range(12) if all(np.array_equal(model.seen[k + i], gen.source.batch(i, e)[0])
                                             for i in range(n))]
        assert len(match) == 1, f"fit epoch {k // n} trained no single generator epoch ({match})"
        found.append(match[0])
    model.seen.clear()
    return found


def fitted(gen, path: str, model: Recorder, callback: bool, **fit):
    data = gen.as_tf_dataset() if path == "tf" else gen
    model.fit(data, verbose=0, shuffle=False, callbacks=[gen.callback] if callback else [], **fit)
    return trained_epochs(gen, model)


def model() -> Recorder:
    m = Recorder()
    m.compile("sgd", "binary_crossentropy", run_eagerly=True)
    return m


@pytest.mark.parametrize("path", ["gen", "tf"])
def test_a_fit_without_the_callback_counts_on_after_one_with_it(dataset, path):
    gen, m = DataGenerator(dataset, FEATURES, **OPTS), model()
    assert fitted(gen, path, m, True, epochs=2) == [0, 1]
    assert fitted(gen, path, m, False, epochs=3) == [2, 3, 4]
    assert fitted(gen, path, m, True, epochs=7, initial_epoch=5) == [5, 6]


def test_as_tf_dataset_passes_count_on_from_set_epoch_and_restore(dataset):
    gen, m = DataGenerator(dataset, FEATURES, **OPTS), model()
    gen.set_epoch(5)
    assert fitted(gen, "tf", m, False, epochs=3) == [5, 6, 7]
    restored = DataGenerator(dataset, FEATURES, **OPTS)
    restored.restore(dict(restored.state(), epoch=2, step=0))
    assert fitted(restored, "tf", m, False, epochs=5, initial_epoch=2) == [2, 3, 4]
    explicit = DataGenerator(dataset, FEATURES, **OPTS)
    explicit.set_epoch(9)
    ds = explicit.as_tf_dataset(first_epoch=1)       # an explicit first epoch wins over the pin
    m.fit(ds, epochs=2, verbose=0)
    assert trained_epochs(explicit, m) == [1, 2]


@pytest.mark.parametrize("path", ["gen", "tf"])
def test_steps_per_epoch_is_refused_across_several_epochs(dataset, path):
    gen, m = DataGenerator(dataset, FEATURES, **OPTS), model()
    data = gen.as_tf_dataset() if path == "tf" else gen
    with pytest.raises(ConfigError, match=r"model.fit runs 2 steps per epoch but this generator serves 6"):
        m.fit(data, epochs=3, steps_per_epoch=2, verbose=0, callbacks=[gen.callback])
    assert m.seen == []                                  # refused before any batch trained
    m.fit(data, epochs=1, steps_per_epoch=2, verbose=0, callbacks=[gen.callback])   # one epoch cut short: fine
    assert len(m.seen) == 2 and gen.state()["step"] == 2


def test_steps_per_epoch_carried_across_epochs_is_refused_without_the_callback(dataset):
    """Without the callback Keras still carries its iterator across the epochs of a shortened fit (it asks
    for batches 2, 3, ... in epoch 1) while the generator reshuffles at each epoch end: rows would train
    twice and others never. The first batch that carries the cut pass on is refused."""
    gen, m = DataGenerator(dataset, FEATURES, **OPTS), model()
    with pytest.raises(Exception, match=r"carries its pass across epochs when steps_per_epoch is less than len"):
        m.fit(gen, epochs=3, steps_per_epoch=2, verbose=0, shuffle=False)
    assert len(m.seen) <= 3   # epoch 0's two batches, and at most the one Keras fetched ahead in that epoch
    epoch0 = [gen.source.batch(i, 0)[0] for i in range(3)]
    assert all(any(np.array_equal(x, y) for y in epoch0) for x in m.seen)
    with pytest.raises(ConfigError, match=r"call gen.set_epoch\(\) before reading batches by hand"):
        gen[5]
    gen.set_epoch(4)
    assert np.array_equal(gen[5][0], gen.source.batch(5, 4)[0])


@pytest.mark.parametrize("workers", [1, 3])
def test_whole_and_single_short_epochs_without_the_callback_still_train(dataset, workers):
    """No refusal where nothing is carried on: one epoch cut short, then fits of whole epochs (threads
    fetching out of order included)."""
    gen, m = DataGenerator(dataset, FEATURES, **OPTS, workers=workers), model()
    m.fit(gen, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert len(m.seen) == 2
    m.seen.clear()
    m.fit(gen, epochs=2, verbose=0, shuffle=False)
    assert len(m.seen) == 2 * len(gen)


def test_a_first_fit_without_the_callback_starts_at_epoch_zero(dataset):
    """Keras builds a fresh model on one peeked batch of a fresh iterator: that pass must not count."""
    gen = DataGenerator(dataset, FEATURES, **OPTS)
    assert fitted(gen, "tf", model(), False, epochs=2) == [0, 1]


def test_one_counter_for_both_paths(dataset):
    """fit(gen) without the callback and as_tf_dataset passes share one counter: an epoch is never
    trained twice by mixing them (each used to count on its own)."""
    gen, m = DataGenerator(dataset, FEATURES, **OPTS), model()
    assert fitted(gen, "gen", m, False, epochs=2) == [0, 1]
    assert fitted(gen, "tf", m, False, epochs=1) == [2]
    assert fitted(gen, "gen", m, False, epochs=1) == [3]
    assert fitted(gen, "tf", m, True, epochs=6, initial_epoch=5) == [5]
    assert fitted(gen, "gen", m, False, epochs=2) == [6, 7]
    gen.set_epoch(1)
    assert fitted(gen, "gen", m, False, epochs=1) == [1]


@pytest.mark.parametrize("callback", [True, False])
def test_a_repeated_tf_dataset_trains_each_epoch_once(dataset, callback):
    """``fit(gen.as_tf_dataset().repeat(), steps_per_epoch=len(gen))``, the usual tf.data idiom: the repeated
    pass begins (prefetched) before fit's next epoch does; with the callback it used to serve fit's current
    epoch again (epochs 0, 0, 1 trained). A later fit with the callback trains its own epochs again."""
    gen, m = DataGenerator(dataset, FEATURES, **OPTS), model()
    ds = gen.as_tf_dataset().repeat()
    run = dict(steps_per_epoch=len(gen), verbose=0, shuffle=False, callbacks=[gen.callback] if callback else [])
    m.fit(ds, epochs=3, **run)
    assert trained_epochs(gen, m) == [0, 1, 2]
    m.fit(ds, epochs=5, initial_epoch=3, **run)
    later = trained_epochs(gen, m)
    if callback:
        assert later == [3, 4]
    else:   # passes count on; a pass prefetched at the end of the first fit may have used up epoch 3
        assert later[0] in (3, 4) and later[1] == later[0] + 1
    if callback:
        m.fit(ds, epochs=2, **run)    # fit's own numbers again: epochs 0 and 1
        assert trained_epochs(gen, m) == [0, 1]


class Boom(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            raise RuntimeError("a user's callback failed")


def test_a_fit_with_the_callback_that_an_exception_ended(dataset):
    """Keras calls no on_train_end when an exception leaves fit: a later fit without the callback used to find
    the generator still "in" that fit and served its epoch for ever (0, 0, 0). It counts on instead, as after a
    fit that ended; validation on the same generator and an evaluate inside the fit are not taken for such a
    fit ending; and restore() after the failed fit resumes where its state says."""
    gen, m = DataGenerator(dataset, FEATURES, **OPTS), model()
    with pytest.raises(RuntimeError, match="user's callback failed"):
        m.fit(gen, epochs=3, verbose=0, shuffle=False, callbacks=[gen.callback, Boom()])
    m.seen.clear()
    assert fitted(gen, "gen", m, False, epochs=3) == [1, 2, 3]
    gen2, m2 = DataGenerator(dataset, FEATURES, **OPTS), model()
    evaluated = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: b == 1 and m2.evaluate(gen2, verbose=0))
    m2.fit(gen2, epochs=3, verbose=0, shuffle=False, validation_data=gen2, callbacks=[gen2.callback, evaluated])
    assert trained_epochs(gen2, m2) == [0, 1, 2]
    state = dict(gen2.state(), epoch=1, step=2)
    with pytest.raises(RuntimeError, match="user's callback failed"):
        m2.fit(gen2, epochs=3, verbose=0, shuffle=False, callbacks=[gen2.callback, Boom()])
    m2.seen.clear()
    gen2.restore(state)
    m2.fit(gen2, epochs=2, initial_epoch=1, verbose=0, shuffle=False, callbacks=[gen2.callback])
    n = gen2.view.per_replica
    assert len(m2.seen) == n - 2
    assert all(np.array_equal(x, gen2.source.batch(2 + i, 1)[0]) for i, x in enumerate(m2.seen))


def test_after_a_failed_fit_every_way_on_counts_on(dataset):
    """After a fit with the callback that an exception ended: an evaluate from another thread while a later
    fit runs leaves that fit alone; an as_tf_dataset fit, set_epoch and a failed resumed fit all see the
    failed fit as over (a resumed epoch it entered too: the next fit's epochs are whole)."""
    import threading

    gen, m = DataGenerator(dataset, FEATURES, **OPTS), model()
    side = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: b == 1 and (
        lambda t: (t.start(), t.join()))(threading.Thread(target=lambda: model().evaluate(gen, verbose=0))))
    m.fit(gen, epochs=3, verbose=0, shuffle=False, callbacks=[gen.callback, side])
    assert trained_epochs(gen, m) == [0, 1, 2]
    with pytest.raises(RuntimeError):
        m.fit(gen, epochs=3, verbose=0, shuffle=False, callbacks=[gen.callback, Boom()])
    m.seen.clear()
    assert fitted(gen, "tf", m, False, epochs=2) == [1, 2]
    with pytest.raises(RuntimeError):
        m.fit(gen, epochs=3, verbose=0, shuffle=False, callbacks=[gen.callback, Boom()])
    m.seen.clear()
    gen.set_epoch(7)
    assert fitted(gen, "gen", m, False, epochs=2) == [7, 8]
    resumed = DataGenerator(dataset, FEATURES, **OPTS)   # (a generator that made a tf dataset resumes no step)
    resumed.restore(dict(resumed.state(), epoch=1, step=1))
    with pytest.raises(RuntimeError):   # fails in the resumed epoch, after its batch 1 + 3
        m.fit(resumed, epochs=3, initial_epoch=1, verbose=0, shuffle=False, callbacks=[resumed.callback, Boom()])
    m.seen.clear()
    assert fitted(resumed, "gen", m, False, epochs=2) == [2, 3]
