"""``model.fit(gen)`` with Keras's default ``shuffle=True`` is refused (reader/kerasorder.py): Keras would
reorder whole batches, so step k would not train batch k and ``provenance``/``state()`` would describe
other rows. Real fits in the three ways Keras serves a PyDataset (one worker, worker threads, worker
processes), with and without ``gen.callback``; in-order fits and ``gen[i]`` by hand in any order are never
refused; and the jitter bound of worker threads holds for every schedule of a simulated Keras enqueuer."""

import pickle
import random
import time

import keras
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from datagen import DataGenerator
from datagen.contract.errors import ConfigError
from datagen.reader.kerasorder import KerasOrder
from gen_fixtures import FEATURES
from keras_recorder import Recorder

MODES = {"one worker": dict(workers=1), "threads": dict(workers=3, max_queue_size=2),
         "processes": dict(workers=2, use_multiprocessing=True)}
REFUSED = "Keras is reordering this generator's batches"


def _model():
    m = keras.Sequential([keras.Input((len(FEATURES),)), keras.layers.Dense(1, activation="sigmoid")])
    m.compile("sgd", "binary_crossentropy")
    return m


def _gen(dataset, batch_size=200, **runtime):
    return DataGenerator(dataset, FEATURES, label="label", batch_size=batch_size, shuffle=True, seed=3, **runtime)


@pytest.mark.parametrize("callback", [True, False], ids=["callback", "no-callback"])
@pytest.mark.parametrize("mode", list(MODES))
def test_fit_with_keras_shuffle_is_refused(dataset, mode, callback):
    gen = _gen(dataset, **MODES[mode])
    random.seed(0)              # Keras shuffles the batch indices with the random module
    with pytest.raises(Exception) as raised:   # fit's default shuffle=True
        _model().fit(gen, epochs=2, verbose=0, callbacks=[gen.callback] if callback else [])
    assert REFUSED in str(raised.value) and "pass shuffle=False to model.fit" in str(raised.value)
    if callback and mode != "processes":       # the callback raises it in the fit's own thread
        assert type(raised.value) is ConfigError
    assert gen.state()["step"] < len(gen)      # stopped within the first epoch
    _model().fit(gen, epochs=1, shuffle=False, verbose=0, callbacks=[gen.callback] if callback else [])


def test_refused_even_when_the_slack_of_worker_threads_is_large(dataset):
    """40 batches with workers=6 and max_queue_size=20 (slack 26): a shuffled epoch soon asks for a batch near
    its end, and every request of its first part strikes after that (counted from the previous request
    alone, most of these epochs trained to the end)."""
    for seed in range(5):
        gen = _gen(dataset, batch_size=300, workers=6, max_queue_size=20)
        random.seed(seed)
        with pytest.raises(ConfigError, match=REFUSED):
            _model().fit(gen, epochs=1, verbose=0, callbacks=[gen.callback])


class Boom(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 30:
            raise RuntimeError("a user's callback failed")


def _slow(batch):
    time.sleep(0.05)
    return batch


def test_a_fit_after_one_an_exception_ended(dataset):
    """An exception out of fit leaves Keras's enqueuer running the tasks it queued (slow batches: many): their
    requests must not be taken for the next fit's. After the refusal itself, the generator is left as after a
    fit: a fit without the callback then counts its epochs on (0, 1, 2), as on a fresh generator."""
    gen = _gen(dataset, workers=2, max_queue_size=20, transform=_slow)
    with pytest.raises(RuntimeError, match="user's callback failed"):
        _model().fit(gen, epochs=1, shuffle=False, verbose=0, callbacks=[gen.callback, Boom()])
    _model().fit(gen, epochs=1, shuffle=False, verbose=0, callbacks=[gen.callback])
    refused = _gen(dataset)
    random.seed(0)
    with pytest.raises(ConfigError, match=REFUSED):
        _model().fit(refused, epochs=2, verbose=0, callbacks=[refused.callback])
    epochs = []
    mark = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(refused.epoch))
    _model().fit(refused, epochs=3, shuffle=False, verbose=0, callbacks=[mark])
    assert epochs == [0, 1, 2]


class Peek(keras.callbacks.Callback):
    """Reads batches by hand, out of order, while fit trains (never refused: not asked by Keras)."""

    def __init__(self, gen):
        super().__init__()
        self.gen = gen

    def on_train_batch_end(self, batch, logs=None):
        self.gen[len(self.gen) - 1 - batch]
        self.gen[0]


@pytest.mark.parametrize("mode", ["one worker", "threads"])
def test_in_order_fits_and_hand_reads_are_never_refused(dataset, mode):
    gen = _gen(dataset, **MODES[mode])
    m = Recorder()
    m.compile("sgd", "binary_crossentropy", run_eagerly=True)
    m.fit(gen, epochs=2, shuffle=False, verbose=0, callbacks=[gen.callback, Peek(gen)])
    n = len(gen)
    assert [np.array_equal(x, gen.source.batch(i % n, i // n)[0]) for i, x in enumerate(m.seen)] == [True] * 2 * n
    rng = np.random.default_rng(0)
    for i in rng.permutation(n):               # hand reads in any order, outside fit
        gen[int(i)]
    m.evaluate(gen, verbose=0)
    clone = pickle.loads(pickle.dumps(gen))    # the records of Keras's passes (weak references) are not pickled
    assert np.array_equal(clone[3][0], gen[3][0])


def test_a_shuffled_request_stream_is_refused():
    order = KerasOrder(workers=1, use_multiprocessing=False, max_queue_size=10)
    with pytest.raises(ConfigError, match=r"model.fit asked for batch \d+ of epoch 4 after batch \d+"):
        for i in random.Random(1).sample(range(60), 60):
            order.see(i, 4)
    order.new_pass()
    with pytest.raises(ConfigError):            # the refused pass serves nothing more
        order.see(0, 5)
    for i in range(60):                         # another pass (the next fit) is served
        order.see(i, 5, "next fit")


def test_requests_of_a_pass_left_running_do_not_strike_the_next():
    """A fit ended by an exception leaves Keras's enqueuer running its queued tasks: their requests (any
    order) interleave with the next fit's in-order ones and must not count against it."""
    order = KerasOrder(workers=2, use_multiprocessing=False, max_queue_size=20)
    order.fit_begins(True)
    old = ("uid", 1)
    for i in range(30):
        order.see(i, 0, old)
    order.fit_begins(True)
    order.new_pass()
    stale = iter([52, 39, 51, 40, 50, 41, 49, 42, 48, 43])
    for i in range(40):
        order.see(i, 0, ("uid", 2))
        try:
            order.see(next(stale), 0, old)
        except (StopIteration, ConfigError):   # the old pass may refuse itself, in its own thread
            pass
    assert order.refused is None               # nothing for the new fit's callback to raise


@settings(max_examples=300, deadline=None)
@given(workers=st.integers(2, 4), queue=st.integers(1, 4), n=st.integers(1, 40),
       schedule=st.lists(st.integers(0, 6), max_size=400))
def test_worker_threads_in_order_are_never_refused(workers, queue, n, schedule):
    """Keras's ordered enqueuer with worker threads, simulated: a thread takes the next task first come,
    first served, and may be held for any time before it calls ``__getitem__``; a task is submitted before
    ``future_queue.put`` blocks on a full queue of ``queue`` futures; the consumer takes results in order.
    Every interleaving the schedule picks is served without a single strike."""
    order = KerasOrder(workers=workers, use_multiprocessing=False, max_queue_size=queue)
    submitted, consumed, queued, blocked, waiting = 0, 0, 0, False, False
    fifo, held, done = [], {}, set()          # tasks submitted not taken; thread -> task taken not called
    steps = iter(schedule)
    while consumed < n:
        moves = []
        if submitted < n and not blocked:
            moves.append("submit")
        if blocked and queued < queue:
            moves.append("put")
        moves += [("take", t) for t in range(workers) if t not in held and fifo]
        moves += [("call", t) for t in held]
        if queued and not waiting:
            moves.append("dequeue")            # the consumer takes the next future off the queue ...
        if waiting and consumed in done:
            moves.append("consume")            # ... and waits for its result
        move = moves[next(steps, 0) % len(moves)]
        if move == "submit":
            fifo.append(submitted)
            submitted += 1
            blocked = True                    # the put that follows apply_async
        elif move == "put":
            queued, blocked = queued + 1, False
        elif move == "dequeue":
            queued, waiting = queued - 1, True
        elif move == "consume":
            consumed, waiting = consumed + 1, False
        elif move[0] == "take":
            held[move[1]] = fifo.pop(0)
        else:
            task = held.pop(move[1])
            order.see(task, 0)
            done.add(task)
    assert order.strikes == 0


def test_a_refused_resumed_fit_leaves_whole_epochs(dataset):
    """The order refusal inside a resumed epoch ends that resume too: a later fit without the callback serves
    the refused epoch whole, then the next."""
    gen = _gen(dataset)
    gen.restore(dict(gen.state(), epoch=1, step=1))
    random.seed(0)
    with pytest.raises(ConfigError, match=REFUSED):
        _model().fit(gen, epochs=3, initial_epoch=1, verbose=0, callbacks=[gen.callback])
    m = Recorder()
    m.compile("sgd", "binary_crossentropy", run_eagerly=True)
    m.fit(gen, epochs=2, shuffle=False, verbose=0)
    n = len(gen)
    assert len(m.seen) == 2 * n and n == gen.view.per_replica
    assert all(np.array_equal(x, gen.source.batch(i % n, 1 + i // n)[0]) for i, x in enumerate(m.seen))
