"""The ``split-datasets`` command (``splitters.cli``) asks mimalloc to keep freed memory before pyarrow
loads, never overriding a value the environment sets; importing ``splitters`` as a library changes
nothing (allocator.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from splitters.allocator import PURGE_DELAY, keep_freed_memory

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import os, sys
seen = []
class Probe:
    def find_spec(self, name, path=None, target=None):
        if name == "pyarrow" and not seen:
            seen.append(os.environ.get("MIMALLOC_PURGE_DELAY"))
        return None
sys.meta_path.insert(0, Probe())
import splitters.cli
import pyarrow  # the command loads it later, when a split runs
print(seen[0], os.environ.get("MIMALLOC_PURGE_DELAY"))
"""

LIBRARY = """
import os
import splitters
from splitters.split import run_split
print(os.environ.get("MIMALLOC_PURGE_DELAY"))
"""


def _probe(code=PROBE, **env) -> list:
    clean = {k: v for k, v in os.environ.items() if k != PURGE_DELAY}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**clean, "PYTHONPATH": str(ROOT), **env}, check=True)
    return proc.stdout.split()


def test_set_before_pyarrow_loads():
    assert _probe() == ["-1", "-1"]


def test_importing_the_library_changes_nothing():
    assert _probe(LIBRARY) == ["None"]


def test_the_environment_wins():
    assert _probe(MIMALLOC_PURGE_DELAY="10") == ["10", "10"]


def test_keep_freed_memory_only_fills_a_gap():
    env: dict = {}
    assert keep_freed_memory(env) and env == {PURGE_DELAY: "-1"}
    env = {PURGE_DELAY: "0"}
    assert not keep_freed_memory(env) and env == {PURGE_DELAY: "0"}
