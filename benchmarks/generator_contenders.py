"""The contenders of bench_generator.py: each a piece of Python run in a fresh process.

Each sets ``RESULT``: ``samples``, ``seconds`` (wall of the measured part only: imports, model
building and the generator's opening are outside it) and ``cpu`` (user + system seconds of the whole
process over that same part, all threads: TensorFlow's pools, our reader and prefetch threads). The
shuffled pass also reports the generator's per-phase seconds (datagen/reader/phases.py; timed on a
second pass, epoch 1, so that the timers' clock reads do not weigh on the measured one) and the
resident size at every tenth of the epoch (``rss_trace``, MB); the fits report the seconds their
input spent in ``BatchSource.batch`` (``in_batch``: the caller's side of each batch, in TensorFlow's
generator thread) and the phases of the background decode. The fits run ``{epochs}`` epochs (bench_generator.py
--epochs; samples count every epoch).
"""

from __future__ import annotations

FEATURES = [f"f{i}" for i in range(16)]

PRELUDE = """
import os, time, resource
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
FEATURES = {features!r}
DS = {ds!r}
def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def _rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) / 1024
def _phases(stats):
    return {{k: [v['seconds'], v.get('cpu', float('nan'))] for k, v in stats.as_dict().items()}}
"""

MODEL = """
m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation='relu'),
                      keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])
m.compile('adam', 'binary_crossentropy')
"""

CONTENDERS = {
    "keras import only": """
import keras
RESULT = {'samples': 0, 'seconds': 1, 'cpu': 0}
""",
    "pyarrow decode": """
import glob, numpy as np, pyarrow.parquet as pq
c0, t0 = _cpu(), time.perf_counter(); n = 0
for f in sorted(glob.glob(DS + '/**/*.parquet', recursive=True)):
    t = pq.read_table(f, columns=FEATURES + ['label'])
    x = np.column_stack([t.column(c).to_numpy() for c in FEATURES]); y = t.column('label').to_numpy()
    n += len(y)
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0}
""",
    "pyarrow decode, page checksums": """
import glob, numpy as np, pyarrow.parquet as pq
c0, t0 = _cpu(), time.perf_counter(); n = 0
for f in sorted(glob.glob(DS + '/**/*.parquet', recursive=True)):
    t = pq.read_table(f, columns=FEATURES + ['label'], page_checksum_verification=True)
    x = np.column_stack([t.column(c).to_numpy() for c in FEATURES]); y = t.column('label').to_numpy()
    n += len(y)
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0}
""",
    "DataGenerator pass": """
from datagen import DataGenerator
g = DataGenerator(DS, FEATURES, label='label', batch_size=1024, shuffle=False)
c0, t0 = _cpu(), time.perf_counter(); n = 0
for i in range(len(g)):
    n += len(g[i][1])
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0}
""",
    "DataGenerator pass shuffled": """
from datagen import DataGenerator
g = DataGenerator(DS, FEATURES, label='label', batch_size=1024, shuffle=True, seed=1)
every = max(1, len(g) // 10); trace = [_rss()]
c0, t0 = _cpu(), time.perf_counter(); n = 0
for i in range(len(g)):
    n += len(g[i][1])
    if (i + 1) % every == 0:
        trace.append(_rss())
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0, 'rss_trace': trace}
# the phases come from a second pass (epoch 1) with the generator's timers on: a thread-CPU clock read
# costs about 0.9 us on the development VM (a system call), five a batch, which made a timed pass
# about 10 ns a row dearer; the measured pass above runs without them
stats = g.source.phase_stats()
c1, t1 = _cpu(), time.perf_counter()
for i in range(len(g)):
    g.source.batch(i, 1)
RESULT.update(phases=_phases(stats), phases_pass=[time.perf_counter() - t1, _cpu() - c1])
""",
    "hand-written Sequence": """
import bisect, glob, numpy as np, pandas as pd, pyarrow.parquet as pq, keras
files = sorted(glob.glob(DS + '/**/*.parquet', recursive=True))
starts = [0]
for f in files:
    starts.append(starts[-1] + pq.read_metadata(f).num_rows)
class Seq(keras.utils.Sequence):
    def __len__(self):
        return -(-starts[-1] // 1024)
    def __getitem__(self, i):
        lo, hi = i * 1024, min((i + 1) * 1024, starts[-1])
        parts, k = [], bisect.bisect_right(starts, lo) - 1
        while lo < hi:
            df = pd.read_parquet(files[k], columns=FEATURES + ['label'])
            end = min(hi, starts[k + 1])
            parts.append(df.iloc[lo - starts[k]:end - starts[k]])
            lo, k = end, k + 1
        df = pd.concat(parts)
        return df[FEATURES].to_numpy(np.float32), df['label'].to_numpy()
s = Seq(); n = 0
c0, t0 = _cpu(), time.perf_counter()
for i in range(min(len(s), {handwritten})):
    n += len(s[i][1])
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0}
""",
    "tf.data from_generator": """
import glob, numpy as np, pyarrow.parquet as pq, tensorflow as tf
files = sorted(glob.glob(DS + '/**/*.parquet', recursive=True))
def gen():
    for f in files:
        for b in pq.ParquetFile(f).iter_batches(batch_size=1024, columns=FEATURES + ['label']):
            yield np.column_stack([b.column(c).to_numpy() for c in FEATURES]), b.column('label').to_numpy()
ds = tf.data.Dataset.from_generator(gen, output_signature=(tf.TensorSpec((None, 16), tf.float32),
                                                          tf.TensorSpec((None,), tf.int8))).prefetch(tf.data.AUTOTUNE)
c0, t0 = _cpu(), time.perf_counter(); n = 0
for x, y in ds:
    n += int(y.shape[0])
RESULT = {'samples': n, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0}
""",
    "fit DataGenerator": """
import keras
from datagen import DataGenerator
g = DataGenerator(DS, FEATURES, label='label', batch_size=1024, shuffle=True, seed=1)
""" + MODEL + """
stats = g.source.phase_stats()
c0, t0 = _cpu(), time.perf_counter()
m.fit(g, epochs={epochs}, shuffle=False, verbose=0, callbacks=[g.callback])
RESULT = {'samples': g.num_rows * {epochs}, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0, 'phases': _phases(stats)}
""",
    "fit as_tf_dataset": """
import keras
from datagen import DataGenerator
g = DataGenerator(DS, FEATURES, label='label', batch_size=1024, shuffle=True, seed=1)
""" + MODEL + """
stats = g.source.phase_stats()
c0, t0 = _cpu(), time.perf_counter()
m.fit(g.as_tf_dataset(), epochs={epochs}, shuffle=False, verbose=0, callbacks=[g.callback])
RESULT = {'samples': g.num_rows * {epochs}, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0, 'phases': _phases(stats)}
""",
    "fit PyDataset floor": """
import glob, numpy as np, pyarrow.parquet as pq, keras
t = pq.read_table(sorted(glob.glob(DS + '/**/*.parquet', recursive=True))[0], columns=FEATURES + ['label'])
X = np.column_stack([t.column(c).to_numpy() for c in FEATURES])[:1024]; y = t.column('label').to_numpy()[:1024]
rows = sum(pq.read_metadata(f).num_rows for f in glob.glob(DS + '/**/*.parquet', recursive=True))
class Floor(keras.utils.PyDataset):  # Keras's PyDataset adapter with no data work: a copy of one batch
    def __len__(self):
        return -(-rows // 1024)
    def __getitem__(self, i):
        return X.copy(), y.copy()
""" + MODEL + """
c0, t0 = _cpu(), time.perf_counter()
m.fit(Floor(), epochs={epochs}, shuffle=False, verbose=0)
RESULT = {'samples': rows * {epochs}, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0}
""",
    "fit in-memory numpy": """
import glob, numpy as np, pyarrow.parquet as pq, keras
tables = [pq.read_table(f, columns=FEATURES + ['label']) for f in sorted(glob.glob(DS + '/**/*.parquet', recursive=True))]
X = np.concatenate([np.column_stack([t.column(c).to_numpy() for c in FEATURES]) for t in tables])
y = np.concatenate([t.column('label').to_numpy() for t in tables]); del tables
""" + MODEL + """
c0, t0 = _cpu(), time.perf_counter()
m.fit(X, y, batch_size=1024, epochs={epochs}, verbose=0)
RESULT = {'samples': len(y) * {epochs}, 'seconds': time.perf_counter() - t0, 'cpu': _cpu() - c0}
""",
}
