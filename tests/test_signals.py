"""SIGTERM and SIGHUP stop a split like Ctrl-C: one line, exit 128 + signal, nothing left behind
(issue #10: they used to act like SIGKILL, leaving the staging tree, lock and journal)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datagen.app.sample import write_sample

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_terminated_split_cleans_up(tmp_path, signum):
    src = tmp_path / "src"
    write_sample(src, files=4, rows_per_file=100_000, seed=3, features=8)
    out = tmp_path / "a" / "b" / "out"
    proc = subprocess.Popen([sys.executable, "-m", "splitters.cli", str(src), "--out", str(out),
                             "--time-column", "event_time", "--group-by", "month,day", "--no-progress"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / ".datagen-staging").exists():  # the split is under way
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    os.kill(proc.pid, signum)
    stdout, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the split finished before the signal arrived")
    assert proc.returncode == 128 + signum, stderr
    assert stderr.strip().splitlines() == [f"terminated ({signal.Signals(signum).name})"]
    assert not (tmp_path / "a").exists()  # --out and the parents it created are gone
