"""``gen.as_tf_dataset()`` without TensorFlow: a one-line ConfigError saying what to do (``fit(gen)``
itself needs no TensorFlow, e.g. under KERAS_BACKEND=jax)."""

import sys

import pytest

from datagen import DataGenerator
from datagen.contract.errors import ConfigError
from gen_fixtures import FEATURES


def test_without_tensorflow_the_error_says_what_to_do(dataset, monkeypatch):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=1000, memory_budget="1MiB")
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow -> ImportError
    with pytest.raises(ConfigError, match="needs TensorFlow.*pass the generator itself to model.fit") as err:
        gen.as_tf_dataset()
    assert "\n" not in str(err.value)
