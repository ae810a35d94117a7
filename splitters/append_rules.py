"""What ``--append`` accepts: the dataset's own split settings, and input columns its shards can hold.

Settings: the append runs with the settings stored in the manifest's ``config``; an option given
on the command line or in ``--config`` must equal the stored one (after the same validation), or
the append is refused with one line naming the option and both values. ``--encoding`` is each
run's own (it describes that run's CSV files; default UTF-8, whatever the split used): reusing the
split's latin-1 for a UTF-8 day stored ``cafÃ©``. A new input at the path of a source the dataset
holds, with other content (the file changed since), is refused: its unchanged rows would be stored
twice (``refuse_changed_paths``).

Columns: the new inputs must have exactly the dataset's input columns (the shard columns, less
the lineage ones, plus the plain group columns). A type may differ only where the stored type
holds every value exactly, and the rows are then cast to the stored type:
- an integer column of another integer width (narrower always fits; a wider one is checked value
  by value before anything is written, and refused if a value does not fit);
- float32 into float64; float64 into float32 only in a ``compact`` dataset (the cast ``--compact``
  itself makes, refused when a value is beyond float32's range);
- text stored as ``string`` or ``large_string``.
Anything else is refused: a stored type never changes (an int64 column never becomes float).
append_reads.py reads each new input with the stored types first (integers into a float column
when exact, floats with whole values into an integer column, ...), so most columns arrive here
with the dataset's type already.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pyarrow as pa

from datagen.contract.errors import ConfigError, SchemaError, SourceError
from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN, Manifest, is_text, value_type_name
from datagen.contract.sourcecheck import source_change

from .config import ABSENT_WHEN_NONE, OutputSettings, SplitConfig
from .unify import unicode_twin

_RUN_ONLY = {"inputs", "encoding"}   # each run's own: --encoding describes its input files (default UTF-8)
_DEFAULTS = {"naive_timezone": "'UTC'", "time_format": "no --time-format (ISO-8601 times)"}  # absent keys


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def append_config(old: Manifest, options: dict, out: str) -> SplitConfig:
    """The split settings of an append into ``old``: the stored ones; an option in ``options`` that
    differs from its stored value is refused."""
    keys = [f.name for f in dataclasses.fields(OutputSettings) if f.name not in _RUN_ONLY]
    stored = {k: old.config[k] for k in keys if k in old.config}
    given = {k: options[k] for k in keys if k in options}
    cfg = SplitConfig(**{**stored, **given, **{k: v for k, v in options.items() if k not in keys}})
    semantic = cfg.semantic()
    for k in given:
        absent = k in ABSENT_WHEN_NONE   # not stored: the default (naive_timezone: UTC, time_format: ISO-8601)
        if semantic.get(k) != stored.get(k, None if absent else semantic.get(k)):
            shown = [repr(x) if x is not None or not absent else _DEFAULTS[k] for x in (semantic.get(k), stored.get(k))]
            raise ConfigError(f"--append: {_flag(k)} is {shown[0]} but the dataset in {out!r} was split with "
                              f"{shown[1]}; drop {_flag(k)} (an append uses the dataset's settings) or split "
                              "into a new --out")
    return cfg


def _int_range(type_name: str) -> tuple[int, int]:
    info = np.iinfo(type_name)
    return int(info.min), int(info.max)


@dataclasses.dataclass
class AppendCasts:
    casts: list[tuple[str, str]]                    # (column, stored type name) applied when writing
    checks: dict[str, tuple[float, float]]           # column -> (lo, hi) every new value must lie in

    def check_ranges(self, measured: dict[str, tuple], out: str) -> None:
        for name, (lo, hi) in self.checks.items():
            if name not in measured:
                continue
            a, b = measured[name]
            finite = [v for v in (a, b) if not isinstance(v, float) or np.isfinite(v)]
            if any(v < lo or v > hi for v in finite):
                stored = dict(self.casts)[name]
                raise SchemaError(f"--append: column {name!r} holds values from {a} to {b}, which the dataset's "
                                  f"type {stored} in {out!r} cannot hold; split into a new --out")


def _compatible(name: str, new: pa.DataType, stored: str, compact: bool, out: str,
                text_only: bool = False) -> tuple[bool, tuple | None]:
    """(needs a cast, range to check or None); raises when the stored type cannot hold the column."""
    if str(new) == stored:
        return False, None
    try:
        target = pa.type_for_alias(stored)
    except (ValueError, KeyError):
        target = None
    if target is not None:
        if pa.types.is_integer(new) and pa.types.is_integer(target):
            lo, hi = _int_range(stored)
            new_lo, new_hi = _int_range(str(new))
            return True, None if lo <= new_lo and new_hi <= hi else (lo, hi)
        if pa.types.is_floating(new) and pa.types.is_floating(target):
            if target.bit_width >= new.bit_width:
                return True, None
            if compact or text_only:   # CSV text is parsed to the nearest float32, as a float32 column reads it
                f32 = float(np.finfo(np.float32).max)
                return True, (-f32, f32)
        if is_text(new) and is_text(target):
            return True, None
    widening = " (an integer column never becomes float: that would change its values)" \
        if pa.types.is_integer(new) and target is not None and pa.types.is_floating(target) else ""
    raise SchemaError(f"--append: column {name!r} is {new} in the new input but {stored} in the dataset in {out!r}"
                      f"{widening}; convert the input to {stored} or split into a new --out")


def append_casts(old: Manifest, cfg: SplitConfig, schema: pa.Schema, out: str, text_only: bool = False) -> AppendCasts:
    """Check the new inputs' unified ``schema`` against the dataset; see the module docstring. ``text_only``:
    every new input is CSV, whose numbers are text (a float32 column takes them, range-checked)."""
    stored = {c.name: c.type for c in old.schema if c.name not in (SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN)}
    plain = {g.name: value_type_name(g.type) for g in old.group_columns if g.derived_from is None}
    expected = {**stored, **plain}
    extra = [n for n in schema.names if n not in expected]
    missing = [n for n in expected if n not in schema.names]
    if extra:
        twin = unicode_twin(extra[0], list(expected), out, "the new input")
        raise SchemaError(f"--append: the new input has column {extra[0]!r} ({schema.field(extra[0]).type}), which "
                          f"the dataset in {out!r} does not have" + (twin or f" (its columns: {', '.join(expected)}); "
                                                                     "drop the column or split into a new --out"))
    if missing:
        raise SchemaError(f"--append: the new input lacks column {missing[0]!r} ({expected[missing[0]]}) of the "
                          f"dataset in {out!r}; add it or split into a new --out")
    result = AppendCasts([], {})
    for f in schema:
        if f.name in plain:
            if str(f.type) != plain[f.name] and not (pa.types.is_integer(f.type) and "int" in plain[f.name]):
                _compatible(f.name, f.type, plain[f.name], False, out)
            continue
        if f.name == cfg.time_column:  # parsed by the stage step; the written shards' schema is compared after
            continue
        cast, check = _compatible(f.name, f.type, stored[f.name], bool(old.config.get("compact")), out, text_only)
        if cast:
            result.casts.append((f.name, stored[f.name]))
        if check is not None:
            result.checks[f.name] = check
    return result


def refuse_changed_paths(old: Manifest, sources: list, digests: list[str], out: str) -> None:
    """Refuse a new input at the path of a source the dataset holds, with other content: the file changed
    since it was split (a corrected or re-downloaded file). Appending it would hold its unchanged rows
    twice, and provenance would name rows of one path under two contents."""
    def real(path: str) -> str:   # a symlink or a linked directory names the same file
        return path if "://" in path else os.path.realpath(path)

    held = {real(s.path): s for s in old.sources}
    held.update({s.path: s for s in old.sources})
    for src, digest in zip(sources, digests):
        was = held.get(real(src.url)) or held.get(src.url)
        if was is not None and source_change(was, src.bytes, src.mtime, digest) is not None:  # sourcecheck.py
            raise SourceError(f"--append: input {src.url!r} is already in the dataset in {out!r} as source {was.id}, "
                              f"with other content (sha256 {was.sha256[:12]}… then, {digest[:12]}… now): its rows "
                              "that did not change would be stored twice; append new rows under a new file name, "
                              "or split again with --overwrite to take the file as it is now")
