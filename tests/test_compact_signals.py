"""``datagen compact`` runs the compaction as a child process (datagen never imports splitters); real signals
to the ``datagen`` process: a kill -9 stops the child too (it rolls back), SIGTERM/SIGINT are forwarded and
waited for, and the outcome printed is the child's own (a commit that happened is a success, printed)."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from datagen.contract.manifest import read_manifest
from datagen.contract.verify import verify_dataset
from test_append import ARGS, day_file

ROOT = Path(__file__).resolve().parent.parent
LEFTOVERS = (".datagen-staging", ".datagen-journal", ".datagen.lock")
WAIT = 120  # seconds: a bound on waiting for a process, never an assertion on speed


@pytest.fixture
def parts(tmp_path, run_split):
    """A dataset whose months have several part files (compact has work to do)."""
    out = tmp_path / "ds"
    files = [day_file(tmp_path / f"d{i}.parquet", 10 * i, 45, 10_000, i) for i in range(6)]
    assert run_split(files[0], *ARGS, "--out", out).exit_code == 0
    for f in files[1:]:
        assert run_split(f, "--out", out, "--append").exit_code == 0
    return out


def _start(out) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATAGEN_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "datagen.app.cli", "compact", str(out)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _child(parent: subprocess.Popen) -> psutil.Process:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        kids = psutil.Process(parent.pid).children()
        if kids:
            return kids[0]
        assert parent.poll() is None, parent.communicate()
        time.sleep(0.002)
    raise AssertionError("datagen compact started no child process")


def _settled(out, version: int, committed: bool) -> None:
    assert read_manifest(out).version == version + committed
    assert not [n for n in LEFTOVERS if (out / n).exists()]
    assert verify_dataset(out).ok


def _signal_held_child(parent: subprocess.Popen, child: psutil.Process, signum: int, parent_waits: bool = False) -> str:
    """Send ``signum`` to datagen compact's group (as a terminal's Ctrl-C or a scheduler does) while its
    suspended child is held, let datagen forward it, release the child; datagen must exit 128 + signum.
    ``parent_waits``: datagen must still be waiting for the child then. Returns datagen's stderr."""
    os.killpg(parent.pid, signum)
    time.sleep(0.2)                     # datagen forwards it (a child with no handler yet dies of it at once)
    if parent_waits:
        assert parent.poll() is None, parent.communicate()
    with contextlib.suppress(psutil.NoSuchProcess):
        child.resume()
    stdout, stderr = parent.communicate(timeout=WAIT)
    assert parent.returncode == 128 + signum, (stdout, stderr)
    return stderr


def test_kill_9_of_datagen_stops_the_compaction(parts):
    version = read_manifest(parts).version
    parent = _start(parts)
    child = _child(parent)
    child.suspend()                     # held before it can commit
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=WAIT)           # (not its pipes: a child held before its exec still has them)
    child.resume()                      # the SIGTERM its parent's death sent is delivered now
    child.wait(timeout=WAIT)
    parent.communicate(timeout=WAIT)
    _settled(parts, version, committed=False)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_before_the_commit_is_forwarded_and_rolled_back(parts, signum):
    version = read_manifest(parts).version
    parent = _start(parts)
    child = _child(parent)
    child.suspend()
    stderr = _signal_held_child(parent, child, signum)
    assert ("terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted") in stderr
    assert not child.is_running()
    _settled(parts, version, committed=False)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_compaction_is_forwarded_and_waited_for(parts, signum):
    """The child holds the lock and has staged shards: it must clean up (subprocess.run SIGKILLed it)."""
    version = read_manifest(parts).version
    parent = _start(parts)
    child = _child(parent)
    while not (parts / ".datagen-staging").exists():
        assert child.is_running(), parent.communicate()
        time.sleep(0.001)
    child.suspend()
    assert read_manifest(parts).version == version   # caught before its commit
    stderr = _signal_held_child(parent, child, signum, parent_waits=True)
    assert stderr == ("terminated (SIGTERM)\n" if signum == signal.SIGTERM else "interrupted\n")
    _settled(parts, version, committed=False)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_after_the_commit_reports_the_commit(parts, signum):
    version = read_manifest(parts).version
    inode = os.stat(parts / "manifest.json").st_ino
    parent = _start(parts)
    while os.stat(parts / "manifest.json").st_ino == inode and parent.poll() is None:
        time.sleep(0.0005)
    if parent.poll() is None:
        os.killpg(parent.pid, signum)
    stdout, stderr = parent.communicate(timeout=WAIT)
    assert parent.returncode == 0, (stdout, stderr)
    assert f"compacted (version {version + 1})" in stdout
    _settled(parts, version, committed=True)


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5])
def test_any_moment_the_outcome_printed_is_the_outcome(parts, delay):
    version = read_manifest(parts).version
    parent = _start(parts)
    time.sleep(delay)
    if parent.poll() is None:
        os.killpg(parent.pid, signal.SIGINT)
    stdout, stderr = parent.communicate(timeout=WAIT)
    committed = read_manifest(parts).version > version
    assert (parent.returncode == 0) == committed, (parent.returncode, stdout, stderr)
    assert (f"compacted (version {version + 1})" in stdout) == committed
    _settled(parts, version, committed)


def test_a_lock_held_by_compaction_names_it(parts, tmp_path, run_split):
    parent = _start(parts)
    child = _child(parent)
    while not (parts / ".datagen-staging").exists():
        assert child.is_running(), parent.communicate()
        time.sleep(0.001)
    child.suspend()
    try:
        r = run_split(day_file(tmp_path / "more.parquet", 300, 5, 50, 9), "--out", parts, "--append")
    finally:
        child.resume()
    stdout, stderr = parent.communicate(timeout=WAIT)
    assert parent.returncode == 0, (stdout, stderr)
    assert r.exit_code == 1
    assert r.stderr.strip() == f"error: datagen compact is writing {str(parts)!r} (pid {child.pid}); wait for it to " \
                               "finish", r.stderr


def test_a_lock_held_by_vacuum_names_it(parts, tmp_path, run_split):
    import inspect

    from datagen.app import vacuum
    from datagen.contract.outlock import OutLock

    assert 'OutLock(root, command="datagen vacuum")' in inspect.getsource(vacuum)
    with OutLock(parts, command="datagen vacuum"):
        r = run_split(day_file(tmp_path / "more.parquet", 300, 5, 50, 9), "--out", parts, "--append")
    assert r.exit_code == 1
    assert r.stderr.strip() == f"error: datagen vacuum is writing {str(parts)!r} (pid {os.getpid()}); wait for it " \
                               "to finish", r.stderr


def _child_script(tmp_path, body: str) -> str:
    """A child that imports for a second first (a Ctrl-C then would be a traceback), then runs ``body``."""
    script = tmp_path / "child.py"
    script.write_text("import sys, time\ntime.sleep(1.0)\nfrom datagen.contract.cli_edge import tell_parent_ready\n"
                      + body)
    return str(script)


def test_a_signal_before_the_child_is_ready_is_held_until_it_is(tmp_path):
    """The CI failure this fixes: a SIGINT forwarded while the child's interpreter started ended it with
    "Fatal Python error: init_import_site" and exit 1 instead of its own clean "interrupted" and 130."""
    from datagen.app.child import run_child

    script = _child_script(tmp_path, "try:\n    tell_parent_ready()\n    time.sleep(60)\n"
                                     "except KeyboardInterrupt:\n    print('handled')\n    sys.exit(130)\n")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    code, out, err = run_child([sys.executable, script])
    timer.join()
    assert (code, out) == (130, "handled\n") and "Traceback" not in err, (code, out, err)


def test_a_child_that_ends_before_it_is_ready_gets_no_signal(tmp_path):
    from datagen.app.child import run_child

    script = _child_script(tmp_path, "sys.exit(3)\n")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    code, out, err = run_child([sys.executable, script])
    timer.join()
    assert (code, out, err) == (3, "", ""), (code, out, err)


def test_a_ctrl_c_while_the_lock_is_taken_leaves_no_lock_file(tmp_path, monkeypatch):
    """SIGINT between creating DIR/.datagen.lock and holding it is delivered once the lock is held, so the
    caller's clean-up (OutDir releases on any exception) removes the file."""
    from datagen.contract import outlock

    real = outlock.fcntl.flock

    def interrupted(fd, op):
        signal.raise_signal(signal.SIGINT)   # Ctrl-C while the file exists and is not yet ours
        return real(fd, op)

    monkeypatch.setattr(outlock.fcntl, "flock", interrupted)
    # a Ctrl-C's usual Python handler (pytest-xdist's worker processes ignore SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    lock = outlock.OutLock(tmp_path)
    try:
        with pytest.raises(KeyboardInterrupt):
            lock.acquire()
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.setattr(outlock.fcntl, "flock", real)
    lock.release()
    assert not (tmp_path / outlock.LOCK_NAME).exists()
    with outlock.OutLock(tmp_path):   # and the lock can be taken again
        pass


def test_after_the_child_the_command_ignores_signals_and_a_library_call_restores_them(tmp_path):
    """datagen compact prints the child's outcome and exits with it: a Ctrl-C in between ended it with a
    KeyboardInterrupt (exit -2) after the child had committed (seen under load at the 1.5 s moment above)."""
    from datagen.app.child import run_child

    script = _child_script(tmp_path, "tell_parent_ready()\n")
    kinds = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {s: signal.getsignal(s) for s in kinds}
    try:
        assert run_child([sys.executable, script], ignore_after=True)[0] == 0
        assert all(signal.getsignal(s) is signal.SIG_IGN for s in kinds)
        for s, handler in before.items():
            signal.signal(s, handler)
        assert run_child([sys.executable, script])[0] == 0
        assert {s: signal.getsignal(s) for s in kinds} == before
    finally:   # all three: a SIGTERM left ignored here is inherited by every later subprocess of this
        for s, handler in before.items():   # test process (Keras's pool workers then could not be stopped)
            signal.signal(s, handler)
