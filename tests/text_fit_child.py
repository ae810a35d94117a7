"""Run by test_text_fit.py in a subprocess: model.fit over a DataGenerator whose dict inputs hold a
text column (text_tensors=True, keras.layers.StringLookup in the model); prints the final loss and
the model's predictions for the three carriers as JSON.

usage: python text_fit_child.py DATASET WORKERS MULTIPROCESSING(0|1)
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from datagen import DataGenerator  # noqa: E402

directory, workers, multi = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
keras.utils.set_random_seed(0)
gen = DataGenerator(directory, {"carrier": ["carrier"], "num": ["x"]}, label="y", batch_size=50, shuffle=True,
                    seed=1, text_tensors=True, workers=workers, use_multiprocessing=multi)
c = keras.Input((1,), dtype="string", name="carrier")
n = keras.Input((1,), name="num")
lookup = keras.layers.StringLookup(vocabulary=["AA", "UA", "B6"], output_mode="one_hot")
h = keras.layers.Flatten()(lookup(c))
model = keras.Model({"carrier": c, "num": n}, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Concatenate()([h, n * 0.0])))
model.compile(keras.optimizers.Adam(0.1), "binary_crossentropy")
history = model.fit(gen, epochs=8, shuffle=False, verbose=0)
probe = {"carrier": np.array([["AA"], ["UA"], ["B6"], [""]]), "num": np.zeros((4, 1), "float32")}
import tensorflow as tf  # noqa: E402

pred = model.predict({"carrier": tf.constant(probe["carrier"]), "num": probe["num"]}, verbose=0)[:, 0]
print(json.dumps({"loss": history.history["loss"], "pred": [float(p) for p in pred]}))
