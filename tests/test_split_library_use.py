"""``run_split`` used as a library leaves the process as it found it: no background import still running
when it returns or raises (a fork then hung for ever in the child, on pandas' half-done import), and the
garbage collector's threshold restored even when splits overlap in threads and the first to start is not
the last to end."""

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd

from splitters import SplitConfig, run_split

FORK_AFTER_FAILED_SPLIT = textwrap.dedent("""
    import os, sys, threading
    from splitters import SplitConfig, run_split
    try:
        run_split(SplitConfig(inputs=["nope.csv"], out="never", progress=False))
    except Exception as exc:
        print("failed:", type(exc).__name__, flush=True)
    assert not [t.name for t in threading.enumerate() if t.name == "datagen-prewarm"]
    pid = os.fork()
    if pid == 0:
        import pandas
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status), flush=True)
""")


def test_a_fork_after_a_failed_split_does_not_hang(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", FORK_AFTER_FAILED_SPLIT], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "failed: SourceError" in done.stdout and "child 0" in done.stdout


def test_overlapping_splits_restore_the_gc_threshold(tmp_path):
    def table(path, rows):
        pd.DataFrame({"g": np.arange(rows) % 7, "x": np.arange(rows, dtype=float)}).to_parquet(path)

    table(tmp_path / "small.parquet", 200_000)
    table(tmp_path / "big.parquet", 2_000_000)
    before = gc.get_threshold()
    gc.set_threshold(500, 7, 3)
    try:
        def split(name, out):
            run_split(SplitConfig(inputs=[str(tmp_path / name)], out=str(tmp_path / out), group_by=["g"],
                                  progress=False))

        small = threading.Thread(target=split, args=("small.parquet", "s"))
        big = threading.Thread(target=split, args=("big.parquet", "b"))
        small.start()     # starts first, ends first: it used to put back the threshold it found, and the
        time.sleep(0.05)  # big one then "restored" the split's own 10,000
        big.start()
        small.join()
        big.join()
        assert gc.get_threshold() == (500, 7, 3)
        assert (tmp_path / "b" / "manifest.json").exists() and (tmp_path / "s" / "manifest.json").exists()
    finally:
        gc.set_threshold(*before)
