"""``DataGenerator.as_tf_dataset()``: the same batches as ``gen[i]``, as a ``tf.data.Dataset`` (TensorFlow only).

Keras feeds a ``PyDataset`` to TensorFlow through ``tf.data.Dataset.from_generator``, paying Python
work per batch. Here Python hands TensorFlow runs of ``CHUNK_ROWS // batch_size`` consecutive batches
at once (one gather per window, ``BatchSource.batch_run``), each reshaped to ``(batches, batch_size, ...)``
and split into batches by TensorFlow (``unbatch`` of the leading axis: one tensor slice per batch, in
C++). Text inputs arrive as ``tf.string`` tensors (a null as ""), as ``text_tensors=True`` gives them
to ``fit(gen)``. The batch indices of a pass are the generator's (``gen.view``: this replica's share of the
epoch plan; consecutive indices form the runs); the last partial batch is a run of its own. Batches are element-for-element ``gen[i]``:
same rows, order, dtypes and shapes.

Backends: the dataset is TensorFlow's, so TensorFlow must be installed; Keras's JAX and torch backends
also accept a ``tf.data.Dataset`` in ``fit`` (converted batch by batch to numpy). Without TensorFlow
this raises a ConfigError; ``fit(gen)`` needs no TensorFlow.

Epochs: each pass over the dataset (``model.fit`` starts one per epoch) reads the epoch when it starts:
fit's own number when ``callbacks=[gen.callback]`` is passed (recommended) or the one ``gen.set_epoch``
set last (custom loops), otherwise ``first_epoch`` + the number of passes begun before it. A generator
restored mid-epoch refuses to make one (fit(gen) serves the rest of that epoch), and one that made
one refuses a mid-epoch ``restore``.
"""

from __future__ import annotations

import threading

from datagen.contract.errors import ConfigError
from .text_tensors import text_to_tensors

CHUNK_ROWS = 1 << 16  # rows handed to TensorFlow at once (about 4 MB with 16 float32 features)


def _runs(indices: list[int], size: int, last_partial: int | None) -> list[tuple[int, int]]:
    """Runs of consecutive indices, at most ``size`` long; the partial batch ``last_partial`` alone."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and i == runs[-1][1] and i != last_partial and runs[-1][1] - runs[-1][0] < size \
                and runs[-1][0] != last_partial:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def as_tf_dataset(gen, first_epoch: int = 0):
    try:
        import tensorflow as tf
    except ImportError:
        raise ConfigError("as_tf_dataset needs TensorFlow, which is not installed: install tensorflow (any Keras "
                          "backend can then fit on the dataset), or pass the generator itself to model.fit") from None

    from .plan import check_epoch

    source = gen.source
    o = source.options
    if source.transform is not None:
        raise ConfigError("as_tf_dataset: this generator has a transform, which runs per batch in Python; "
                          "use the generator itself with model.fit, or apply the transform with dataset.map")
    if gen._resume is not None and gen._resume[1]:
        raise ConfigError(f"as_tf_dataset: this generator was restored at step {gen._resume[1]} of epoch "
                          f"{gen._resume[0]}; finish that epoch with model.fit(gen, ...) itself, which serves only "
                          "its remaining batches (a state saved at an epoch's end can use as_tf_dataset)")
    first_epoch = check_epoch(first_epoch)
    indices = gen.view.plan_batches_of_epoch()
    plan = source.plan
    bs = plan.batch_size
    per_run = max(1, CHUNK_ROWS // bs)
    last_partial = plan.num_batches - 1 if plan.total_rows % bs and not plan.drop_remainder else None
    passes = [0]
    lock = threading.Lock()

    def epoch_now() -> int:
        with lock:
            begun = passes[0]
            passes[0] += 1
        return gen.epoch if gen._synced_by_fit or gen._epoch_pinned else first_epoch + begun

    def runs():
        epoch = epoch_now()
        for first, stop in _runs(indices, per_run, last_partial):
            batch = text_to_tensors(source.batch_run(first, stop, epoch), tensors=False)  # text: str, null ""
            k = stop - first
            yield tf.nest.map_structure(lambda a: a.reshape((k, len(a) // k) + a.shape[1:]), batch)

    sample = text_to_tensors(source.batch(indices[0], first_epoch), tensors=False)
    spec = tf.nest.map_structure(lambda a: tf.TensorSpec(
        (None, None) + a.shape[1:], tf.string if a.dtype.kind == "U" else tf.as_dtype(a.dtype)), sample)
    ds = tf.data.Dataset.from_generator(runs, output_signature=spec).unbatch()
    count = len(indices)
    return ds.apply(tf.data.experimental.assert_cardinality(count)).prefetch(tf.data.AUTOTUNE)
