"""A generator state save killed with SIGKILL between writing its temporary file and the rename leaves
that file behind; the next save of the same state removes it, and nothing else: not a live writer's
temporary file, not a fresh one, not a file of another name."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from datagen.contract.atomicwrite import STALE_SECONDS
from datagen.reader.resume import write_state

KILLED_SAVE = textwrap.dedent("""
    import os, sys, time
    from datagen.reader import resume
    os.replace = lambda *a: (print("written", flush=True), time.sleep(600))  # killed before the rename
    resume.write_state(sys.argv[1], {"epoch": 1})
""")


def temporaries(folder, name="state.json"):
    return sorted(p for p in os.listdir(folder) if p.startswith(f".{name}.") and p.endswith(".tmp"))


def killed_save(path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "written"
    return child


def test_next_save_removes_what_a_killed_save_left(tmp_path):
    path = tmp_path / "state.json"
    write_state(str(path), {"epoch": 0})
    child = killed_save(path)
    child.send_signal(signal.SIGKILL)
    child.wait()
    left = temporaries(tmp_path)
    assert len(left) == 1 and str(child.pid) in left[0]

    write_state(str(path), {"epoch": 2})                 # fresh: perhaps a writer on another machine
    assert temporaries(tmp_path) == left
    old = time.time() - STALE_SECONDS - 5
    os.utime(tmp_path / left[0], (old, old))
    (tmp_path / ".other.json.123.abcdefabcdef.tmp").write_text("not ours to judge")
    (tmp_path / ".state.json.notes.tmp").write_text("not a name we make")
    write_state(str(path), {"epoch": 3})
    assert temporaries(tmp_path) == [".state.json.notes.tmp"]
    assert (tmp_path / ".other.json.123.abcdefabcdef.tmp").exists()
    assert '"epoch": 3' in path.read_text()


def test_a_live_writers_temporary_file_is_kept(tmp_path):
    path = tmp_path / "state.json"
    child = killed_save(path)                             # still running, stuck before its rename
    try:
        left = temporaries(tmp_path)
        old = time.time() - STALE_SECONDS - 5
        os.utime(tmp_path / left[0], (old, old))
        write_state(str(path), {"epoch": 1})
        assert temporaries(tmp_path) == left
    finally:
        child.kill()
        child.wait()
