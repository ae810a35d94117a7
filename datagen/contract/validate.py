"""Small type validators for configuration values (YAML files, flags, Python calls).

Each takes the value and the option's name and returns the value (normalised)
or raises :class:`ConfigError` naming the option and what it received. They are
strict on purpose: a YAML boolean is ``true``/``false`` only (never ``"no"``),
a number is finite and in range (never ``.inf``/``.nan``), a string is a string
and a list is a list of strings. Values taken from numpy or pandas count as what they hold:
``np.int64(3)`` is an integer, ``np.bool_(True)`` a boolean, a pandas ``Index`` or a numpy array of
names a list of strings (each returned as the plain Python value).
"""

from __future__ import annotations

import math
import zoneinfo
from typing import Any, Iterable

from .errors import ConfigError

INT64_MAX = 2**63 - 1


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    return type(value).__name__


def _numpy_scalar(value: Any, kind: str) -> bool:
    """Whether ``value`` is a numpy scalar of dtype kind ``kind`` ("b" bool, "iu" integers)."""
    dtype = getattr(value, "dtype", None)
    return getattr(value, "shape", None) == () and dtype is not None and getattr(dtype, "kind", "") in kind \
        and type(value).__module__ == "numpy"


def plain(value: Any) -> Any:
    """A numpy bool, integer or float scalar as the Python bool, int or float it holds; anything else as it is."""
    if _numpy_scalar(value, "b"):
        return bool(value)
    if _numpy_scalar(value, "iu"):
        return int(value)
    return float(value) if _numpy_scalar(value, "f") else value


def _names(value: Any) -> Any:
    """A pandas Index, numpy array or other sized sequence of names as a list; anything else as it is."""
    if isinstance(value, (str, bytes, dict, list, tuple)) or not hasattr(value, "__len__") \
            or not hasattr(value, "__iter__") or getattr(value, "ndim", 1) != 1:
        return value
    return [str(v) if isinstance(v, str) else v for v in value]


def boolean(value: Any, key: str) -> bool:
    """``True`` or ``False`` only (YAML ``true``/``false``); strings such as ``"no"`` are refused."""
    value = plain(value)
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {_show(value)} ({_kind(value)})")
    return value


def integer(value: Any, key: str, minimum: int | None = None, maximum: int = INT64_MAX,
            allow_none: bool = False) -> int | None:
    """An int (not a bool, not a float) with ``minimum <= value <= maximum``."""
    value = plain(value)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {_show(value)} ({_kind(value)})")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key}: expected an integer >= {minimum}, got {_show(value)}")
    if value > maximum:
        raise ConfigError(f"{key}: expected an integer <= {maximum}, got {_show(value)}")
    return int(value)


def number(value: Any, key: str, minimum: float | None = None, maximum: float | None = None,
           max_exclusive: bool = False) -> float:
    """A finite int or float (not a bool) in ``[minimum, maximum]`` (or ``[minimum, maximum)``)."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {_show(value)} ({_kind(value)})")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ConfigError(f"{key}: expected a finite number, got {_show(value)}")
    too_high = maximum is not None and (result >= maximum if max_exclusive else result > maximum)
    if (minimum is not None and result < minimum) or too_high:
        hi = "" if maximum is None else (f", {maximum})" if max_exclusive else f", {maximum}]")
        rng = f"[{minimum}{hi}" if minimum is not None else f"(-inf{hi}"
        raise ConfigError(f"{key}: expected a number in {rng}, got {_show(value)}")
    return result


def string(value: Any, key: str, allow_none: bool = False, allow_empty: bool = False) -> str | None:
    """A str (``None`` when allowed); empty strings are refused unless ``allow_empty``."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {_show(value)} ({_kind(value)})")
    if not allow_empty and not value.strip():
        raise ConfigError(f"{key}: expected a non-empty string, got {_show(value)}")
    if "\x00" in value:
        raise ConfigError(f"{key}: expected a string without NUL characters, got {_show(value)}")
    return value


def choice(value: Any, key: str, choices: Iterable[str], allow_none: bool = False) -> str | None:
    """One of ``choices`` (strings)."""
    choices = tuple(choices)
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{key}: expected one of {'|'.join(choices)}, got {_show(value)}")
    return value


def string_list(value: Any, key: str, allow_none: bool = False) -> list[str]:
    """A comma-separated string or a list of non-empty strings -> a list of stripped strings."""
    if value is None and allow_none:
        return []
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)):
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise ConfigError(f"{key}: expected a list of strings, got {_show(bad[0])} ({_kind(bad[0])}) in it")
        items = [v.strip() for v in value]
    else:
        raise ConfigError(f"{key}: expected a comma-separated string or a list of strings, "
                          f"got {_show(value)} ({_kind(value)})")
    if any(not v for v in items):
        raise ConfigError(f"{key}: empty name in {_show(value)}")
    if any("\x00" in v for v in items):
        raise ConfigError(f"{key}: NUL character in {_show(value)}")
    return items


def positive_integer(value: Any, key: str, maximum: int | None = None, allow_none: bool = False) -> int | None:
    """An int (not a bool) >= 1, and <= ``maximum`` when given."""
    value = plain(value)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (maximum is not None and value > maximum):
        limit = "" if maximum is None else f" up to {maximum:,}"
        raise ConfigError(f"{key}: expected a positive integer{limit}, got {value!r}")
    return int(value)


def non_negative_integer(value: Any, key: str, maximum: int = INT64_MAX) -> int:
    """An int (not a bool) with ``0 <= value <= maximum``."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ConfigError(f"{key}: expected a non-negative integer, got {value!r}")
    return int(value)


def column_name(value: Any, key: str) -> str | None:
    """A non-empty column name, or None."""
    value = str(value) if isinstance(value, str) else value  # numpy's str_ as a plain str
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{key}: expected a column name or None, got {value!r}")
    return value


def column_names(value: Any, key: str) -> list[str]:
    """A non-empty list of distinct column names (or a comma-separated string of them)."""
    value = _names(value)
    if isinstance(value, str):
        value = [c.strip() for c in value.split(",") if c.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{key}: expected a non-empty list of column names, got {value!r}")
    for c in value:
        if not isinstance(c, str) or not c:
            raise ConfigError(f"{key}: expected column names (strings), got {c!r}")
    dup = next((c for i, c in enumerate(value) if c in value[:i]), None)
    if dup is not None:
        raise ConfigError(f"{key}: column {dup!r} is listed twice")
    return list(value)


def callable_or_none(value: Any, key: str) -> Any:
    """A callable, or None."""
    if value is not None and not callable(value):
        raise ConfigError(f"{key}: expected a callable, got {type(value).__name__}")
    return value


def time_zone(value: Any, key: str) -> str:
    """An IANA time zone name such as ``'UTC'`` or ``'Europe/Paris'``."""
    value = string(value, key)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"{key}: unknown time zone {value!r} (expected an IANA name such as 'UTC' or "
                          "'Europe/Paris')") from None
    return value


def dask_scheduler(value: Any, key: str) -> str:
    """``'local'`` or a dask.distributed address ``tcp://HOST:PORT`` with a numeric port in 1..65535."""
    expected = f"{key}: expected 'local' or a dask.distributed address tcp://HOST:PORT"
    if not isinstance(value, str):
        raise ConfigError(f"{expected}, got {value!r} ({type(value).__name__})")
    if value == "local":
        return value
    if not value.startswith("tcp://"):
        raise ConfigError(f"{expected}, got {value!r}")
    host, sep, port = value[len("tcp://"):].rstrip("/").rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [::1]:8786
    if not sep or not host or any(c in host for c in "/ \x00") or not port.isascii() or not port.isdigit() \
            or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{expected} with a port number 1-65535, got {value!r}")
    return value


def text_encoding(value: Any, key: str) -> str | None:
    """A text encoding Python knows (``'latin-1'``, ``'cp1252'``, ...), or None for UTF-8."""
    import codecs

    if value is None:
        return None
    value = string(value, key)
    try:
        info = codecs.lookup(value)
    except LookupError:
        raise ConfigError(f"{key}: unknown text encoding {value!r} (expected e.g. 'utf-8', 'latin-1', "
                          "'cp1252')") from None
    if not getattr(info, "_is_text_encoding", True):   # rot13, base64, zlib, ...: not bytes <-> text
        raise ConfigError(f"{key}: {value!r} is not a text encoding (expected e.g. 'utf-8', 'latin-1', "
                          "'cp1252')")
    return value
