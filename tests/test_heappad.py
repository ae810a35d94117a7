"""Thread heaps kept padded (datagen/reader/heappad.py): making a DataGenerator sets glibc's M_TOP_PAD
once per process, unless the process was started with the user's own pad.

The pad is seen from outside: the main heap's first growth after it is set (glibc adds the pad to every
growth of the heap) is at least ``PAD_BYTES``; with glibc's default pad (128 KiB) it is about the size of
the allocation that caused it. Each case runs in a fresh interpreter: the setting is per process.
"""

import json
import os
import subprocess
import sys

import pytest

from datagen.reader.heappad import PAD_BYTES, is_glibc, user_chose_pad
from gen_fixtures import dataset  # noqa: F401  (fixture)

CHILD = r"""
import ctypes, json, sys
from datagen.reader import heappad
from datagen import DataGenerator

gen = DataGenerator(sys.argv[1], ["f0", "f1"], label="label", batch_size=64)
libc = ctypes.CDLL(None)
libc.sbrk.restype = ctypes.c_void_p
libc.sbrk.argtypes = (ctypes.c_long,)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
held, growth = [], None
start = libc.sbrk(0)
for _ in range(4_000):             # 64 KiB blocks (below any mmap threshold) until the heap grows
    held.append(libc.malloc(65536))
    end = libc.sbrk(0)
    if end != start:
        growth = end - start
        break
print(json.dumps({"result": heappad.pad_thread_heaps(), "growth": growth}))
"""


def run_child(dataset, **env) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("MALLOC_TOP_PAD_", "GLIBC_TUNABLES")}
    run = subprocess.run([sys.executable, "-c", CHILD, str(dataset)], capture_output=True, text=True,
                         timeout=300, env={**environ, **env})
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not is_glibc(), reason="glibc only")
def test_making_a_generator_pads_the_heaps(dataset):  # noqa: F811
    out = run_child(dataset)
    assert out["result"] == "set"
    assert out["growth"] is not None and out["growth"] >= PAD_BYTES, out


@pytest.mark.skipif(not is_glibc(), reason="glibc only")
@pytest.mark.parametrize("env", [{"MALLOC_TOP_PAD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.top_pad=131072"}])
def test_a_users_own_pad_is_kept(dataset, env):  # noqa: F811
    out = run_child(dataset, **env)
    assert out["result"] == "user's choice"
    assert out["growth"] is not None and out["growth"] < PAD_BYTES // 4, out


@pytest.mark.parametrize("environ, chosen", [
    ({}, False),
    ({"MALLOC_TOP_PAD_": "0"}, True),
    ({"GLIBC_TUNABLES": "glibc.malloc.top_pad=1"}, True),
    ({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2:glibc.malloc.top_pad=1"}, True),
    ({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, False),
    ({"GLIBC_TUNABLES": "glibc.malloc.top_pad_extra=1"}, False),
    ({"MALLOC_ARENA_MAX": "2"}, False),
])
def test_user_chose_pad(environ, chosen):
    assert user_chose_pad(environ) is chosen
