"""``text_tensors=True``: the text arrays of a batch become ``tf.string`` tensors, which model.fit takes.

Keras 3 (TensorFlow backend) refuses numpy text arrays in a ``PyDataset`` batch (``Invalid dtype:
object`` for an object array, ``str32`` for a ``<U`` one) but accepts ``tf.string`` tensors, with
threads and with ``use_multiprocessing=True``. So with this option every object or unicode array of
a batch's inputs (after ``transform``) becomes a ``tf.string`` tensor of the same shape; a null
text value becomes "" (numpy batches keep it as None). Numbers, labels and weights are untouched.

Only in the process that made the generator: TensorFlow is not fork-safe, and a ``tf.constant`` in
a worker forked by ``use_multiprocessing=True`` could hang for ever on a lock held at the fork.
There the text arrays become numpy object arrays of the values' UTF-8 bytes (null -> b""), which Keras,
having taken the batch signature (``tf.string``) from a batch made in the main process, converts
there (``as_tf_dataset`` hands TensorFlow the same). Values are kept exactly, trailing NULs included.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from datagen.contract.errors import ConfigError


def check_text_tensors(enabled: bool) -> None:
    """Refuse the option where it cannot work: a Keras backend other than TensorFlow."""
    if not enabled:
        return
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ConfigError(f"text_tensors=True makes tf.string tensors, which need the TensorFlow Keras backend; "
                          f"this one is {keras.backend.backend()!r}: map text to integer ids in transform instead")


def refuse_text_for_keras(batch: Any) -> None:
    """Keras's adapter asked for a batch without ``text_tensors``: a text input would fail in Keras as
    ``ValueError: Invalid dtype: object``; say which input and what to do instead."""
    x = batch[0] if isinstance(batch, tuple) and batch else batch
    named = x.items() if isinstance(x, dict) else enumerate(x) if isinstance(x, (list, tuple)) else [(None, x)]
    for name, value in named:
        if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
            which = "the batch's inputs are" if name is None else f"input {name!r} of the batch is"
            raise ConfigError(f"{which} text (a numpy {value.dtype} array), which model.fit cannot take: pass "
                              "text_tensors=True to DataGenerator (TensorFlow backend), use gen.as_tf_dataset(), or "
                              "map the text to integer ids in transform")


def _utf8(v: Any) -> bytes:
    return b"" if v is None else v.encode("utf-8", "surrogatepass") if isinstance(v, str) else bytes(v)


_TO_UTF8 = np.frompyfunc(_utf8, 1, 1)


def _text(value: Any, tensors: bool) -> Any:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "OUS":
        return value
    value = _TO_UTF8(value).astype(object)   # UTF-8 bytes, exactly: a numpy <U array would drop trailing NULs
    if not tensors:
        return value
    import tensorflow as tf

    return tf.constant(value, dtype=tf.string)


def text_to_tensors(batch: Any, tensors: bool = True) -> Any:
    """``batch`` (a tuple whose first item is the inputs) with its text arrays as tf.string tensors
    (``tensors``), or as numpy unicode arrays of the same values (in a worker process)."""
    if not isinstance(batch, tuple) or not batch:
        return batch
    x = batch[0]
    if isinstance(x, dict):
        x = {k: _text(v, tensors) for k, v in x.items()}
    elif isinstance(x, (list, tuple)):
        x = type(x)(_text(v, tensors) for v in x)
    else:
        x = _text(x, tensors)
    return (x, *batch[1:])
