"""Group values between the stage step and the manifest: which column types can
be grouped by, how a value is stored in the manifest (JSON), the order of
groups, and the plan-time check that every shard path fits the filesystem.

Stored values: ints, bools and strings as themselves; floats as numbers, except
NaN, inf and -inf, which JSON cannot hold, stored as the strings "NaN",
"Infinity" and "-Infinity" (-0.0 is stored as 0.0); timestamps, dates and times
as ISO-8601 text; decimals as text; null as null.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import os
import tempfile
import unicodedata

import numpy as np
import pyarrow as pa

from datagen.contract.errors import ColumnError, OutputError

from datagen.contract.format import is_text

# Room kept in a shard's absolute path for the staging directory and the part file name.
PATH_RESERVE = 160
DEFAULT_PATH_MAX = 4096


def groupable(dtype: pa.DataType) -> bool:
    """Types whose values can name a directory: scalars only (no nested, binary or durations)."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return any(check(dtype) for check in (
        pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating, is_text,
        pa.types.is_timestamp, pa.types.is_date, pa.types.is_time,
        pa.types.is_decimal, pa.types.is_null))


def check_group_type(column: str, dtype: pa.DataType) -> None:
    if not groupable(dtype):
        raise ColumnError(f"group column {column!r} has type {dtype}; group columns must hold scalar values "
                          "(bool, integer, float, string, timestamp, date, time or decimal)")


def json_value(v):
    """A plain group value as stored in the manifest (see the module docstring)."""
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v + 0.0
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, np.generic):
        return json_value(v.item())
    return v


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def canonical(key: tuple) -> tuple:
    """A hashable form of a stage key in which equal group values are equal (NaN == NaN)."""
    return tuple(("nan",) if _is_nan(v) else v for v in key)


def sort_key(key: tuple) -> tuple:
    """A total order of stage keys: values ascending, then NaN, then null, per column."""
    return tuple((v is None, _is_nan(v), 0 if v is None or _is_nan(v) else v) for v in key)


def path_max(out: str) -> int:
    """PATH_MAX of the filesystem that will hold ``out``."""
    probe = os.path.abspath(out)
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        return int(os.pathconf(probe, "PC_PATH_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_PATH_MAX


def check_path_length(out: str, rel_dir: str, group: dict, limit: int) -> None:
    """Refuse, before any shard is written, a group whose shard path would exceed PATH_MAX."""
    base = len(os.fsencode(os.path.abspath(out)))
    total = base + 1 + len(rel_dir.encode()) + PATH_RESERVE
    if total < limit:
        return
    column, value = max(group.items(), key=lambda kv: len(str(kv[1])))
    shown = str(value)
    shown = repr(shown[:40]) + ("..." if len(shown) > 40 else "")
    raise OutputError(f"group value {shown} of column {column!r} (with {len(group) - 1} other group values) makes "
                      f"a shard path of about {total:,} bytes under --out {str(out)!r}; the limit is PATH_MAX = "
                      f"{limit:,} bytes: group by fewer or shorter values, or use a shorter --out")


def folds_names(out: str) -> bool:
    """True when the filesystem holding ``out`` ignores letter case (and so, on macOS,
    Unicode normalisation): two group directories could then be one."""
    probe = os.path.abspath(out)
    while not os.path.isdir(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        fd, path = tempfile.mkstemp(prefix=".datagen-CaseProbe-", dir=probe)
    except OSError:
        return False
    os.close(fd)
    try:
        folded = os.path.join(os.path.dirname(path), os.path.basename(path).lower())
        return os.path.exists(folded)
    finally:
        os.unlink(path)


def check_distinct_dirs(groups: list[tuple[str, dict]], out: str, folds: bool) -> None:
    """Every group must get a directory of its own on the filesystem of ``out``."""
    seen: dict[str, dict] = {}
    for rel, group in groups:
        name = unicodedata.normalize("NFC", rel).casefold() if folds else rel
        other = seen.setdefault(name, group)
        if other is group:
            continue
        column = next((k for k in group if group[k] != other[k]), next(iter(group), "?"))
        raise OutputError(f"group values {other.get(column)!r} and {group.get(column)!r} of column {column!r} "
                          f"would share the directory {rel!r} under --out {str(out)!r} (its filesystem "
                          f"{'ignores letter case' if folds else 'cannot tell them apart'}); rename one of them")
