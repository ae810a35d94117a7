"""``DataGenerator.as_tf_dataset()``: the same batches as ``gen[i]``, as a ``tf.data.Dataset`` (TensorFlow only).

Keras feeds a ``PyDataset`` to TensorFlow through ``tf.data.Dataset.from_generator``, paying Python
work per batch. Here Python hands TensorFlow runs of consecutive batches (``CHUNK_ROWS`` rows, fewer when
wide rows would make a run larger than an eighth of ``memory_budget``: ``run_batches``)
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
during a fit with ``callbacks=[gen.callback]`` (recommended), fit's own number; otherwise, with
``first_epoch`` given, ``first_epoch`` + the passes of this dataset begun before it; else the passes
count on from the last ``gen.set_epoch(e)`` (e, e+1, ...; custom loops), ``gen.restore`` or fit with the
callback (the epoch after its last), or from 0. ``.repeat()`` (with ``steps_per_epoch=len(gen)``) works:
its next pass begins before fit's next epoch does, so within one fit a pass never serves an epoch an
earlier pass served; it serves the one after. A generator restored mid-epoch refuses to make one (fit(gen) serves the rest of
that epoch), and one that made one refuses a mid-epoch ``restore``.

Autotune is off and the prefetch buffer fixed (two runs of batches): the runs are decoded ahead by the
generator itself, and tf.data's autotune thread made the end of a fit wait. The iterator's destructor
waits for that thread, which can sleep out its whole optimisation period first: 4-5 s at the end of
1M-row fits in 2 of 5 runs (gdb: ``RootDataset::Iterator::~Iterator`` waiting on ``Model::OptimizeLoop``).
"""

from __future__ import annotations

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


def run_batches(sample, batch_size: int, memory_budget: int) -> int:
    """Batches per run: CHUNK_ROWS rows, at most an eighth of ``memory_budget`` of the batch tuple's bytes
    (``sample``, one batch: one-hot labels and every input counted), at least one batch."""
    import tensorflow as tf

    leaves = tf.nest.flatten(sample)
    rows = max(1, len(leaves[0]))
    row_bytes = max(1, sum(a.nbytes for a in leaves) // rows)
    return max(1, min(CHUNK_ROWS, memory_budget // 8 // row_bytes) // batch_size)


def as_tf_dataset(gen, first_epoch: int | None = None):
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
        step = max(gen._resume[1], gen._step if gen.epoch == gen._resume[0] else 0)   # a fit may have moved on
        raise ConfigError(f"as_tf_dataset: this generator was restored mid-epoch and is at step {step} of epoch "
                          f"{gen._resume[0]}; finish that epoch with model.fit(gen, ...) itself, which serves only "
                          "its remaining batches (a state saved at an epoch's end can use as_tf_dataset)")
    first_epoch = None if first_epoch is None else check_epoch(first_epoch)
    indices = gen.view.plan_batches_of_epoch()
    plan = source.plan
    bs = plan.batch_size
    last_partial = plan.num_batches - 1 if plan.total_rows % bs and not plan.drop_remainder else None
    passes = [0]
    last = [None, -1]   # (fit, epoch) of the last pass begun during a fit with the callback

    def epoch_now() -> int:
        gen._end_stale_fit()          # a fit with the callback that an exception ended (fitsync.py)
        with gen._epoch_lock:
            begun = passes[0]
            passes[0] += 1
            if gen._in_fit:            # fit's own epoch (gen.callback) ...
                epoch = gen.epoch
                if last[0] == gen._fits and epoch <= last[1]:
                    epoch = last[1] + 1   # ... but .repeat() begins the next pass before fit's next epoch does
                last[:] = [gen._fits, epoch]
                return epoch
            epoch = gen._next_epoch if first_epoch is None else first_epoch + begun
            gen._next_epoch = epoch + 1   # the generator's one counter: fit(gen) and other passes count on
            return epoch

    def runs():
        epoch = epoch_now()
        for first, stop in _runs(indices, per_run, last_partial):
            batch = text_to_tensors(source.batch_run(first, stop, epoch), tensors=False)  # text: str, null ""
            k = stop - first
            yield tf.nest.map_structure(lambda a: a.reshape((k, len(a) // k) + a.shape[1:]), batch)

    sample = text_to_tensors(source.batch(indices[0], first_epoch or 0), tensors=False)
    per_run = run_batches(sample, bs, o.memory_budget)
    spec = tf.nest.map_structure(lambda a: tf.TensorSpec(
        (None, None) + a.shape[1:], tf.string if a.dtype.kind == "U" else tf.as_dtype(a.dtype)), sample)
    ds = tf.data.Dataset.from_generator(runs, output_signature=spec).unbatch()
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(indices))).prefetch(2 * per_run)
    options = tf.data.Options()
    options.autotune.enabled = False   # no autotune thread: see the module docstring (Autotune)
    return ds.with_options(options)
