"""The shuffled window's row order drawn while the reader threads decode it (decode.py ``alongside``),
columns of one chunk used without a copy (outputs.single_array): batches unchanged, no reader left
writing a window's buffers after an error."""

import threading
import time

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from datagen import DataGenerator
from datagen.contract.errors import ShardError
from datagen.reader.decode import ALONGSIDE
from datagen.reader.outputs import float_matrix, single_array
from gen_fixtures import FEATURES, dataset  # noqa: F401

KW = dict(label="label", batch_size=300, shuffle=True, seed=5, memory_budget="600KB")


def _multi_shard_window(g):
    windows, _ = g.source.plan.windows(0)
    return next(w for w in windows if len({u.shard for u in w.units}) > 1)


def test_one_chunk_is_used_as_is_and_several_are_joined():
    chunk = pa.array(np.arange(10, dtype=np.float32))
    one = single_array(pa.chunked_array([chunk]))
    assert one.buffers()[1].address == chunk.buffers()[1].address  # no copy
    joined = single_array(pa.chunked_array([chunk.slice(0, 3), chunk.slice(3)]))
    assert joined.equals(chunk)
    assert single_array(chunk) is chunk
    assert len(single_array(pa.chunked_array([], pa.float32()))) == 0


@settings(deadline=None, max_examples=40)
@given(values=st.lists(st.one_of(st.none(), st.floats(width=32, allow_nan=False)), min_size=1, max_size=40),
       cuts=st.lists(st.integers(0, 40), max_size=4), dtype=st.sampled_from(["float32", "float64"]))
def test_float_matrix_of_any_chunking_matches_one_array(values, cuts, dtype):
    whole = pa.array(values, pa.float32())
    bounds = sorted({0, len(values), *[min(c, len(values)) for c in cuts]})
    chunked = pa.chunked_array([whole.slice(a, b - a) for a, b in zip(bounds, bounds[1:])], pa.float32())
    ref = np.array([np.nan if v is None else v for v in values], dtype=np.float32).astype(dtype)[:, None]
    np.testing.assert_array_equal(float_matrix([chunked], dtype), ref)


def test_row_order_is_drawn_while_readers_decode(dataset):  # noqa: F811
    """``alongside`` waits until a reader thread has started on the window: drawn before the reads
    were submitted (as before), it would wait in vain."""
    g = DataGenerator(dataset, FEATURES, **KW)
    window = _multi_shard_window(g)
    dec = g.source.decoder
    started = threading.Event()
    decode_shard = dec._decode_shard

    def watched(*args):
        started.set()
        return decode_shard(*args)

    dec._decode_shard = watched
    got = dec.decode(window, alongside=lambda: started.wait(60))
    assert got[ALONGSIDE] is True
    dec._decode_shard = decode_shard
    plain = dec.decode(window)
    assert ALONGSIDE not in plain
    for key, value in plain.items():
        np.testing.assert_array_equal(got[key], value)


def test_shuffled_batches_match_a_reference_order(dataset):  # noqa: F811
    """Every batch is the window's rows (decoded without a row order) taken through
    ``plan.window_order``: the order drawn beside the reads is the same permutation."""
    g = DataGenerator(dataset, FEATURES, **KW)
    plan, dec = g.source.plan, g.source.decoder
    windows, _ = plan.windows(0)
    rows = {w.index: dec.decode(w) for w in windows}
    want_x = np.concatenate([rows[w.index]["x"][plan.window_order(0, w)] for w in windows])
    want_y = np.concatenate([rows[w.index]["y"][plan.window_order(0, w)] for w in windows])
    got = [g[i] for i in range(len(g))]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in got]), want_x)
    np.testing.assert_array_equal(np.concatenate([y for _, y in got]), want_y)


def test_an_error_returns_only_after_every_reader_is_done(dataset):  # noqa: F811
    """A failing shard raises only once the window's other readers have finished writing its buffers
    (which may then be handed out again)."""
    g = DataGenerator(dataset, FEATURES, **KW)
    window = _multi_shard_window(g)
    dec = g.source.decoder
    first = window.units[0].shard
    running = []
    decode_shard = dec._decode_shard

    def flaky(shard, units, dest):
        running.append(shard)
        try:
            if shard == first:
                raise ShardError("shard broken (test)")
            time.sleep(0.3)
            return decode_shard(shard, units, dest)
        finally:
            running.remove(shard)

    dec._decode_shard = flaky
    with pytest.raises(ShardError, match="broken"):
        dec.decode(window, alongside=lambda: None)
    assert running == []
