"""A cluster that cannot run the split says so in one line (exit 1), never hangs and never reports an
internal error: a scheduler without workers, and a scheduler killed (SIGKILL) during the split."""

import os
import signal
import socket
import subprocess
import sys
import time

from cli_checks import fails
from datagen.app.sample import write_sample

def test_a_cluster_without_workers_is_one_line(sample_parquet, run_split, tmp_path):
    import dask
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, \
            dask.config.set({"datagen.connect-timeout": "2s"}):
        r = run_split(sample_parquet, "--out", tmp_path / "o", "--time-column", "event_time",
                      "--scheduler", cluster.scheduler_address)
    line = fails(r, 1, cluster.scheduler_address, "has no workers", "dask worker")
    assert "internal error" not in line
    assert not (tmp_path / "o").exists()

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def test_a_scheduler_killed_during_the_split_is_one_line(tmp_path):
    src = tmp_path / "src"
    write_sample(src, files=4, rows_per_file=150_000, seed=2, features=8, row_group_size=20_000)
    port = _free_port()
    bin_dir = os.path.dirname(sys.executable)
    scheduler = subprocess.Popen([os.path.join(bin_dir, "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([os.path.join(bin_dir, "dask"), "worker", f"tcp://127.0.0.1:{port}", "--host",
                               "127.0.0.1", "--nthreads", "1", "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = tmp_path / "out"
    try:
        split = subprocess.Popen([os.path.join(bin_dir, "split-datasets"), str(src), "--out", str(out),
                                  "--time-column", "event_time", "--group-by", "month,day", "--no-progress",
                                  "--scheduler", f"tcp://127.0.0.1:{port}"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (out / ".datagen-staging").exists() and split.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)   # the split has begun its tasks
        assert split.poll() is None, split.communicate()
        time.sleep(0.5)
        scheduler.send_signal(signal.SIGKILL)
        _, err = split.communicate(timeout=240)
    finally:
        for p in (scheduler, worker):
            p.kill()
            p.wait()
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert split.returncode == 1 and len(lines) == 1, err[-2000:]
    assert "lost the Dask scheduler" in lines[0] and "internal error" not in lines[0]
    assert not (out / "manifest.json").exists()
