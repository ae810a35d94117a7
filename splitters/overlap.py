"""Refusing an ``--out`` that overlaps the inputs, by real paths (symlinks resolved).

The rule does not depend on what ``--out`` holds yet, so a split that is accepted
once is accepted again on the identical rerun (and one refused is always refused):
``--out`` may not be, or lie inside, an input directory (which is searched
recursively), nor lie where an input glob could match the shards; no input file
or directory may lie inside ``--out``.
"""

from __future__ import annotations

import os
from pathlib import Path

from datagen.contract.errors import ConfigError

from .sources import GLOB_CHARS, SourceFile


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _local(given: str) -> str | None:
    if given.startswith("file://"):
        return given[len("file://"):]
    return None if "://" in given else given


def _glob_reaches(out_real: str, pattern: str) -> bool:
    """Could the glob ``pattern`` match a file inside ``out_real``?"""
    parts = os.path.abspath(pattern).split(os.sep)
    first = next(i for i, p in enumerate(parts) if GLOB_CHARS & set(p))
    base = os.path.realpath(os.sep.join(parts[:first]) or os.sep)
    rest = parts[first:]
    if not _within(out_real, base):
        return False
    depth = 0 if out_real == base else len(os.path.relpath(out_real, base).split(os.sep))
    # a shard lies at least one level below --out; a pattern without ** matches at exactly len(rest) levels
    return any("**" in p for p in rest) or len(rest) > depth


def check_overlap(out: Path, inputs: list[str], sources: list[SourceFile]) -> None:
    """Raise ConfigError when ``out`` and the inputs overlap; see the module docstring."""
    out_real = os.path.realpath(out)
    shown = str(out)
    for given in inputs:
        local = _local(given)
        if local is None:
            continue
        if GLOB_CHARS & set(local):
            if _glob_reaches(out_real, local):
                raise ConfigError(f"--out {shown!r} lies where input pattern {given!r} would find the shards; "
                                  "write the split outside its inputs")
        elif os.path.isdir(local):
            real = os.path.realpath(local)
            if _within(out_real, real):
                raise ConfigError(f"--out {shown!r} lies inside input directory {given!r}; "
                                  "write the split outside its inputs")
            if _within(real, out_real):
                raise ConfigError(f"input {given!r} lies inside --out {shown!r}; write the split outside its inputs")
    for src in sources:
        local = _local(src.url)
        if local is not None and _within(os.path.realpath(local), out_real):
            raise ConfigError(f"input {src.url!r} lies inside --out {shown!r}; write the split outside its inputs")
