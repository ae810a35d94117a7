"""Text inputs reach model.fit: with ``text_tensors=True`` a dict input holding a text column comes
back as a tf.string tensor (null -> ""), which Keras's PyDataset adapter takes (a numpy object array
fails there with ``Invalid dtype: object``); fitted in a subprocess with threads and with worker
processes, the model learns the label the carrier decides."""

import datetime as dt
import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen import DataGenerator
from datagen.contract.errors import ConfigError

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def text_ds(tmp_path_factory):
    from cli_checks import split_cli

    d = tmp_path_factory.mktemp("text")
    n = 600
    carriers = [None if i % 97 == 0 else ["AA", "UA", "B6"][i % 3] for i in range(n)]
    pq.write_table(pa.table({
        "ts": pa.array([dt.datetime(2023, 1, 1 + i % 3) for i in range(n)], pa.timestamp("us")),
        "carrier": pa.array(carriers, pa.string()), "x": pa.array(np.arange(n, dtype=float)),
        "y": pa.array([int(c == "AA") for c in carriers])}), d / "t.parquet")
    assert split_cli(d / "t.parquet", "--out", d / "ds", "--time-column", "ts", "--group-by", "day").exit_code == 0
    return d / "ds"


def test_text_tensors_equal_the_numpy_batches(text_ds):
    import tensorflow as tf

    features = {"carrier": ["carrier"], "num": ["x"]}
    plain = DataGenerator(text_ds, features, label="y", batch_size=64, shuffle=True, seed=3)
    tensors = DataGenerator(text_ds, features, label="y", batch_size=64, shuffle=True, seed=3, text_tensors=True)
    nulls = 0
    for i in range(len(plain)):
        (x, y), (tx, ty) = plain[i], tensors[i]
        assert isinstance(tx["carrier"], tf.Tensor) and tx["carrier"].dtype == tf.string
        want = [["" if v is None else v for v in row] for row in x["carrier"].tolist()]
        assert [[b.decode() for b in row] for row in tx["carrier"].numpy().tolist()] == want
        assert np.array_equal(tx["num"], x["num"]) and np.array_equal(ty, y)
        nulls += sum(v is None for v in x["carrier"][:, 0])
    assert nulls == 7   # rows 0, 97, ..., 582: None in numpy batches, "" in tensors
    with pytest.raises(ConfigError, match="text_tensors"):
        DataGenerator(text_ds, features, label="y", text_tensors="yes")


def _child_batch(gen, conn):
    (x, _), = [gen[1]]
    carrier = x["carrier"]
    conn.send((type(carrier).__name__, getattr(carrier.dtype, "kind", None), np.asarray(carrier).tolist()))
    conn.close()


def test_a_forked_worker_makes_no_tensorflow_tensor(text_ds):
    """TensorFlow is not fork-safe (a tf.constant in a forked worker hung CI): a process other than
    the one that made the generator gets numpy unicode arrays of the same values, which Keras
    converts in the main process under the tf.string signature of a main-process batch."""
    import multiprocessing

    features = {"carrier": ["carrier"], "num": ["x"]}
    gen = DataGenerator(text_ds, features, label="y", batch_size=64, shuffle=True, seed=3, text_tensors=True)
    plain = DataGenerator(text_ds, features, label="y", batch_size=64, shuffle=True, seed=3)
    here = gen[1][0]["carrier"]
    assert type(here).__name__ == "EagerTensor"
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child_batch, args=(gen, child))
    p.start()
    answered = parent.poll(120)   # a TensorFlow call in the child may hang: never wait for ever
    p.join(5)
    if p.is_alive():
        p.kill()
    assert answered, "the forked worker did not answer within 120 s"
    kind, dtype_kind, values = parent.recv()
    assert p.exitcode == 0
    assert (kind, dtype_kind) == ("ndarray", "O")
    want = [["" if v is None else v for v in row] for row in plain[1][0]["carrier"].tolist()]
    assert [[b.decode() for b in row] for row in values] == want == [[b.decode() for b in row] for row in here.numpy().tolist()]


@pytest.mark.parametrize("workers,multi", [(2, "0"), (2, "1")])
def test_fit_with_text_inputs(text_ds, workers, multi):
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, os.path.join(HERE, "text_fit_child.py"), str(text_ds), str(workers), multi],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loss"][-1] < out["loss"][0]
    aa, ua, b6, empty = out["pred"]
    assert aa > 0.8 and ua < 0.2 and b6 < 0.2   # the carrier alone decides y: the text reached the model


def test_as_tf_dataset_with_text_inputs(text_ds):
    """as_tf_dataset serves text inputs as tf.string (null -> ""): element for element the batches of a
    text_tensors=True generator, and a model with a StringLookup learns from them."""
    import keras
    import tensorflow as tf

    features = {"carrier": ["carrier"], "num": ["x"]}
    gen = DataGenerator(text_ds, features, label="y", batch_size=64, shuffle=True, seed=3)
    tensors = DataGenerator(text_ds, features, label="y", batch_size=64, shuffle=True, seed=3, text_tensors=True)
    ds = gen.as_tf_dataset(first_epoch=2)
    seen = list(ds)
    assert len(seen) == len(gen)
    tensors.set_epoch(2)
    for i, (x, y) in enumerate(seen):
        tx, ty = tensors[i]
        assert x["carrier"].dtype == tf.string
        assert x["carrier"].numpy().tolist() == tx["carrier"].numpy().tolist()
        np.testing.assert_array_equal(x["num"].numpy(), tx["num"])
        np.testing.assert_array_equal(y.numpy(), ty)

    keras.utils.set_random_seed(0)
    c = keras.Input((1,), dtype="string", name="carrier")
    n = keras.Input((1,), name="num")
    h = keras.layers.Flatten()(keras.layers.StringLookup(vocabulary=["AA", "UA", "B6"], output_mode="one_hot")(c))
    model = keras.Model({"carrier": c, "num": n},
                        keras.layers.Dense(1, activation="sigmoid")(keras.layers.Concatenate()([h, n * 0.0])))
    model.compile(keras.optimizers.Adam(0.1), "binary_crossentropy")
    history = model.fit(gen.as_tf_dataset(), epochs=6, verbose=0, callbacks=[gen.callback])
    assert history.history["loss"][-1] < history.history["loss"][0]
    pred = model.predict({"carrier": tf.constant([["AA"], ["UA"]]), "num": np.zeros((2, 1), "float32")}, verbose=0)
    assert pred[0, 0] > 0.8 and pred[1, 0] < 0.2


def test_text_is_kept_exactly(tmp_path):
    """Trailing NUL characters, non-ASCII text and a lone empty string reach TensorFlow as written (a numpy
    unicode array would drop trailing NULs, so 'a\\x00' became 'a' and '\\x00' became '' like a null)."""
    import tensorflow as tf

    from cli_checks import split_cli

    values = ["a\x00", "b\x00\x00", "\x00", "", None, "é漢\x00x"] * 4
    pq.write_table(pa.table({"ts": pa.array([dt.datetime(2023, 1, 1)] * len(values), pa.timestamp("us")),
                             "t": pa.array(values, pa.string()), "y": pa.array(range(len(values)))}), tmp_path / "t.parquet")
    assert split_cli(tmp_path / "t.parquet", "--out", tmp_path / "ds", "--time-column", "ts", "--group-by",
                     "day").exit_code == 0
    want = [("" if v is None else v).encode() for v in values]
    gen = DataGenerator(tmp_path / "ds", {"t": ["t"]}, label="y", batch_size=len(values), text_tensors=True)
    (x, y), = [gen[0]]
    assert x["t"].dtype == tf.string and x["t"].numpy()[:, 0].tolist() == [want[i] for i in y]
    (tx, ty), = list(DataGenerator(tmp_path / "ds", {"t": ["t"]}, label="y", batch_size=len(values)).as_tf_dataset())
    assert tx["t"].numpy()[:, 0].tolist() == [want[i] for i in ty.numpy()]


def _ids(batch):
    """A transform mapping the carrier text to integer ids (module level: picklable)."""
    x, y = batch
    codes = {"AA": 1.0, "UA": 2.0, "B6": 3.0}
    return {"carrier": np.vectorize(lambda v: codes.get(v, 0.0), otypes=[np.float32])(x["carrier"]),
            "num": x["num"]}, y


def test_text_inputs_without_text_tensors_are_refused_by_name(text_ds):
    """Keras fails on a numpy text array with ``Invalid dtype: object``; the generator says which input and
    what to do instead, when Keras's adapter asks (fit and evaluate). Batches read by hand keep their
    numpy text, and a transform that maps the text to numbers trains without text_tensors."""
    import keras

    features = {"carrier": ["carrier"], "num": ["x"]}
    gen = DataGenerator(text_ds, features, label="y", batch_size=64, shuffle=True, seed=3)
    c = keras.Input((1,), dtype="string", name="carrier")
    n = keras.Input((1,), name="num")
    h = keras.layers.Flatten()(keras.layers.StringLookup(vocabulary=["AA", "UA", "B6"], output_mode="one_hot")(c))
    model = keras.Model({"carrier": c, "num": n}, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Concatenate()([h, n])))
    model.compile("adam", "binary_crossentropy")
    refused = r"input 'carrier' of the batch is text \(a numpy object array\), which model.fit cannot take: pass text_tensors=True"
    with pytest.raises(ConfigError, match=refused):
        model.fit(gen, epochs=1, shuffle=False, verbose=0)
    with pytest.raises(ConfigError, match=refused):
        model.evaluate(gen, verbose=0)
    assert gen[0][0]["carrier"].dtype == object
    ids = DataGenerator(text_ds, features, label="y", batch_size=64, shuffle=True, seed=3, transform=_ids)
    ci, ni = keras.Input((1,), name="carrier"), keras.Input((1,), name="num")
    numeric = keras.Model({"carrier": ci, "num": ni}, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Concatenate()([ci, ni])))
    numeric.compile("adam", "binary_crossentropy")
    numeric.fit(ids, epochs=1, shuffle=False, verbose=0)
