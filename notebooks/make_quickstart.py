"""Regenerates quickstart.ipynb (outputs are never committed; the test suite executes it)."""

from pathlib import Path

import nbformat as nbf

md = nbf.v4.new_markdown_cell
code = nbf.v4.new_code_cell

cells = [
    md("# datagen quickstart\n\nSplit a time-stamped table into lineage-tracked shards, look at them, train a "
       "Keras model from them with `DataGenerator`, and trace a training batch back to its source rows.\n\n"
       "`QUICKSTART_ROWS` and `QUICKSTART_DIR` (environment variables) set the sample size and where files go."),
    code("import json, os, subprocess, sys\nfrom pathlib import Path\n\n"
         "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')\n"
         "ROWS = int(os.environ.get('QUICKSTART_ROWS', '200000'))\n"
         "WORK = Path(os.environ.get('QUICKSTART_DIR', 'quickstart-output')).resolve()\n"
         "SOURCE, DATASET = WORK / 'events', WORK / 'events-by-day'\n"
         "WORK.mkdir(parents=True, exist_ok=True)\n"
         "def sh(*args):\n"
         "    \"\"\"Run one of the toolkit's commands and show its output.\"\"\"\n"
         "    r = subprocess.run([sys.executable, '-m', *args], capture_output=True, text=True)\n"
         "    print(r.stdout + r.stderr)\n"
         "    r.check_returncode()"),
    md("## 1. A sample table\n\nA synthetic table (no download): a timestamp over 2024, 16 float features, an id, "
       "a category and a 0/1 label that depends on the features."),
    code("from datagen.app.sample import write_sample\n"
         "import shutil\nshutil.rmtree(SOURCE, ignore_errors=True)\n"
         "files = write_sample(SOURCE, files=4, rows_per_file=ROWS // 4, seed=3)\n"
         "[f.name for f in files]"),
    md("## 2. Split it by month and day\n\n`split-datasets` runs with Dask, writes one Parquet shard per day, and "
       "writes `manifest.json` last. Running it again is a no-op (`up to date`)."),
    code("shutil.rmtree(DATASET, ignore_errors=True)\n"
         "sh('splitters.cli', str(SOURCE), '--out', str(DATASET), '--time-column', 'event_time',\n"
         "   '--group-by', 'month,day', '--label', 'label', '--no-progress')\n"
         "sh('datagen.app.cli', 'show', str(DATASET))"),
    md("## 3. Rows, label balance and shard sizes per day (from the manifest alone)"),
    code("import matplotlib.pyplot as plt\nimport pandas as pd\n"
         "from datagen import read_manifest\n\n"
         "m = read_manifest(DATASET)\n"
         "days = pd.DataFrame([{**s.group, 'rows': s.rows, 'bytes': s.bytes,\n"
         "                      'positive': s.label_counts.get('1', 0) / s.rows} for s in m.shards])\n"
         "days['day_of_year'] = range(len(days))\n"
         "fig, ax = plt.subplots(1, 3, figsize=(15, 3.5))\n"
         "ax[0].bar(days.day_of_year, days.rows, width=1.0); ax[0].set_title('rows per day')\n"
         "ax[1].plot(days.day_of_year, days.positive); ax[1].set_ylim(0, 1); ax[1].set_title('share of label 1 per day')\n"
         "ax[2].hist(days.bytes / 1e3, bins=30); ax[2].set_title('shard size (kB)')\n"
         "plt.show()\ndays.describe()[['rows', 'bytes', 'positive']]"),
    md("## 4. Train with a time-based split\n\nTrain on January to October, validate on November and December: "
       "`where` selects shards from the manifest, so no validation rows are ever read by the training generator. "
       "`shuffle=False` in `fit` because the generator shuffles rows across shards itself; `train.callback` keeps "
       "its epochs in step with `fit`'s."),
    code("import keras\nfrom datagen import DataGenerator\n\n"
         "features = [f'f{i}' for i in range(16)]\n"
         "train = DataGenerator(DATASET, features, label='label', batch_size=512, shuffle=True, seed=7, where='month <= 10')\n"
         "val = DataGenerator(DATASET, features, label='label', batch_size=2048, where='month > 10')\n"
         "print(f'{train.num_rows:,} training rows in {len(train)} batches, {val.num_rows:,} validation rows')\n"
         "model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, activation='relu'),\n"
         "                          keras.layers.Dense(1, activation='sigmoid')])\n"
         "model.compile(keras.optimizers.Adam(0.005), 'binary_crossentropy', metrics=['accuracy'])\n"
         "history = model.fit(train, validation_data=val, epochs=4, shuffle=False, verbose=0, callbacks=[train.callback])\n"
         "plt.figure(figsize=(6, 3.5))\nplt.plot(history.history['loss'], label='train')\n"
         "plt.plot(history.history['val_loss'], label='validation')\nplt.xlabel('epoch'); plt.ylabel('loss'); plt.legend(); plt.show()\n"
         "pd.DataFrame(history.history)"),
    md("## 5. Provenance: where did a training batch come from?\n\n"
       "Batch 5 of epoch 2, row by row: the shard and row it was read from, and the original file and record."),
    code("prov = train.provenance(5, epoch=2)\nprov.head(8)"),
    md("Check it against the source files: the features the model trained on are exactly those source records."),
    code("import numpy as np, pyarrow.parquet as pq\n"
         "train.set_epoch(2)\nx, y = train[5]\n"
         "sources = {p: pq.read_table(p).to_pandas() for p in prov.source.unique()}\n"
         "records = pd.DataFrame([sources[p].iloc[r] for p, r in zip(prov.source, prov.source_row)])\n"
         "assert np.array_equal(records[features].to_numpy(np.float32), x) and np.array_equal(records.label.to_numpy(), y)\n"
         "print(f'all {len(prov)} examples of batch 5 / epoch 2 match their source records')\n"
         "records[['id', 'event_time', 'category', 'f0', 'label']].head()"),
    md("The same table from the shell, with the generator's configuration saved as JSON:"),
    code("(WORK / 'run.json').write_text(json.dumps(train.config))\n"
         "sh('datagen.app.cli', 'provenance', str(DATASET), '--batch', '5', '--epoch', '2', '--config', str(WORK / 'run.json'),\n"
         "   '--format', 'csv')"),
    md("## 6. Integrity\n\n`datagen verify` re-hashes every shard against the manifest."),
    code("sh('datagen.app.cli', 'verify', str(DATASET))"),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})
nbf.write(nb, Path(__file__).with_name("quickstart.ipynb"))
