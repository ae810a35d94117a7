"""``datagen demo``: the whole story on a built-in synthetic sample, in about a minute.

sample table -> split-datasets (month, day; run as its own process, exactly the command
shown) -> datagen show -> train a small Keras
model with DataGenerator (Jan-Oct train, Nov-Dec validation) -> provenance of one
training batch, checked against the source files.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable

from datagen.contract.errors import DatagenError, OutputError, UsageError

MARKER = ".datagen-demo"
FEATURES = [f"f{i}" for i in range(16)]


def run_demo(out: str | Path = "demo-output", rows: int = 300_000, epochs: int = 2, progress: bool = False,
             say: Callable[[str], None] = print) -> dict:
    """Run the demo into ``out`` (created; a previous demo there is replaced). Returns a summary."""
    try:
        out = Path(out).resolve()
        out.exists()
    except OSError as exc:
        raise OutputError(f"cannot use --out {str(out)[:80]!r}: {exc.strerror or exc}") from None
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 10_000:
        raise UsageError(f"--rows: expected at least 10000 rows for a meaningful demo, got {rows}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise UsageError(f"--epochs: expected a positive integer, got {epochs}")
    from .sample import check_sample_size, write_sample

    check_sample_size(rows, 4)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {str(out)!r} is an existing file, not a directory; choose another")
    if out.exists():
        if (out / MARKER).exists():
            shutil.rmtree(out)
        elif any(out.iterdir()):
            raise OutputError(f"--out {str(out)!r} is not empty and was not made by 'datagen demo'; choose another")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKER).write_text("made by datagen demo; safe to delete\n")
    except OSError as exc:
        raise OutputError(f"cannot write --out {str(out)!r}: {exc.strerror or exc}") from None
    try:
        return _run(out, rows, epochs, progress, say, write_sample)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # all of it is this demo's (marked); leave no half demo behind
        raise


def _run(out: Path, rows: int, epochs: int, progress: bool, say: Callable[[str], None], write_sample) -> dict:
    t0 = time.perf_counter()

    files = 4
    say(f"1. writing a synthetic sample: {rows:,} time-stamped rows in {files} Parquet files -> {out / 'source'}")
    write_sample(out / "source", files=files, rows=rows, seed=7)

    dataset = out / "dataset"
    say("2. split-datasets source --out dataset --time-column event_time --group-by month,day --label label")
    say(f"   {_split_datasets(out / 'source', dataset, progress)}")

    from datagen.contract.manifest import read_manifest
    from datagen.app.show import render

    manifest = read_manifest(dataset)
    say("3. datagen show dataset")
    for line in render(manifest, str(dataset), max_sources=4).splitlines()[:8]:
        say(f"   {line}")

    import keras

    from datagen.reader.generator import DataGenerator

    say("4. training a small Keras model: months 1-10 train (shuffled), 11-12 validate (no leakage across time)")
    train = DataGenerator(dataset, FEATURES, label="label", batch_size=1024, shuffle=True, seed=7, where="month <= 10")
    val = DataGenerator(dataset, FEATURES, label="label", batch_size=4096, where="month > 10")
    model = keras.Sequential([keras.Input((len(FEATURES),)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.005), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=epochs, shuffle=False, verbose=0,
                        callbacks=[train.callback])
    for e in range(epochs):
        h = {k: v[e] for k, v in history.history.items()}
        say(f"   epoch {e}: loss {h['loss']:.4f}  accuracy {h['accuracy']:.3f}  "
            f"val_loss {h['val_loss']:.4f}  val_accuracy {h['val_accuracy']:.3f}")

    batch, epoch = 3, epochs - 1
    say(f"5. provenance: which source rows made training batch {batch} of epoch {epoch}?")
    prov = train.provenance(batch, epoch=epoch)
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_colwidth", 50):
        for line in prov.head(5).to_string().splitlines():
            say(f"   {line}")
    checked = _check_against_sources(train, prov, batch, epoch)
    say(f"   verified: all {checked:,} rows of the batch equal the source records they name")
    config_path = out / "train-config.json"
    import json

    config_path.write_text(json.dumps(train.config, indent=2) + "\n")
    seconds = time.perf_counter() - t0
    say(f"done in {seconds:.1f} s. Files: source {out / 'source'}, dataset {dataset}, generator config {config_path}")
    say(f"next: datagen show {dataset}   |   datagen verify {dataset}   |   "
        f"datagen provenance {dataset} --batch {batch} --epoch {epoch} --config {config_path}")
    return {"out": str(out), "dataset": str(dataset), "history": history.history, "checked": checked,
            "seconds": seconds}


def _split_datasets(source: Path, dataset: Path, progress: bool) -> str:
    """Run ``split-datasets`` as a user would (its own process: the demo never imports the split
    side), and return its summary line; its one-line error becomes ours."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "splitters.cli", str(source), "--out", str(dataset), "--time-column", "event_time",
           "--group-by", "month,day", "--label", "label"] + ([] if progress else ["--no-progress"])
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE, text=True)
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise DatagenError(f"split-datasets failed: {detail[0].removeprefix('error: ')}")
    return done.stdout.strip().splitlines()[-1]


def _check_against_sources(gen, prov, batch: int, epoch: int) -> int:
    import numpy as np
    import pyarrow.parquet as pq

    gen.set_epoch(epoch)
    x, y = gen[batch]
    tables: dict[str, object] = {}
    for i, (path, row) in enumerate(zip(prov["source"], prov["source_row"])):
        if path not in tables:
            tables[path] = pq.read_table(path, columns=FEATURES + ["label"]).to_pandas()
        rec = tables[path].iloc[int(row)]
        if not (np.array_equal(rec[FEATURES].to_numpy(np.float32), x[i]) and rec["label"] == y[i]):
            raise DatagenError(f"provenance check failed at example {i}: {path} row {row} differs from the batch")
    return len(prov)
