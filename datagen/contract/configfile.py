"""Small helpers shared by the split and generator configs: sizes and YAML/JSON files."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from .errors import ConfigError

SIZE_UNITS = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
              "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "k": 10**3, "m": 10**6, "g": 10**9, "b": 1}
MAX_SIZE = 2**63 - 1
MAX_CONFIG_BYTES = 1 << 20


class _DuplicateKey(Exception):
    pass


def _unique_key_loader():
    """yaml's SafeLoader, except that a key given twice in one mapping is an error, not "last wins"."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, (str, int, float, bool)):
                    continue  # unhashable keys are refused later, by the option checks
                if key in seen:
                    raise _DuplicateKey(key)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Loader


def parse_size(value: Any, key: str, minimum: int) -> int:
    """``'4GB'``, ``'512MiB'``, ``1e9`` or an int -> bytes, at least ``minimum``.

    Refused with a one-line ConfigError naming ``key``: booleans, non-finite or NaN
    values (``.inf``, ``'infMB'``), negative sizes and sizes above 2**63 - 1 bytes."""
    expected = f"{key}: expected a size such as '4GB' or '512MiB'"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{expected}, got {value!r} ({type(value).__name__})")
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "").replace("_", "")
        scale = 1
        for suffix, mult in SIZE_UNITS.items():
            if text.endswith(suffix):
                text, scale = text[: -len(suffix)], mult
                break
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{expected}, got {value!r}") from None
    else:
        number, scale = value, 1
    if isinstance(number, float) and not math.isfinite(number):
        raise ConfigError(f"{expected} (a finite number of bytes), got {value!r}")
    if number < 0:
        raise ConfigError(f"{expected} (not negative), got {value!r}")
    n = number * scale  # an int stays exact; an overflow to inf is caught below
    if n > MAX_SIZE:
        raise ConfigError(f"{key}: expected at most {MAX_SIZE:,} bytes (2**63 - 1), got {value!r}")
    n = int(n)  # bytes: fractions dropped
    if n < minimum:
        mib = f" ({minimum >> 20:,} MiB: MB and GB are powers of 10, MiB and GiB of 2)" if minimum % (1 << 20) == 0 else ""
        raise ConfigError(f"{key}: expected at least {minimum:,} bytes{mib}, got {value!r} ({n:,} bytes)")
    return n


def option_key(key: Any) -> str:
    """An option name as a config file may spell it (``group-by``) -> its Python name (``group_by``)."""
    return str(key).replace("-", "_")


def option_mapping(data: dict, known: set[str], what: str) -> dict[str, Any]:
    """``data`` with its keys as option names (``group-by`` -> ``group_by``): a key that is not a string,
    not one of ``known``, or given in both spellings is refused naming ``what``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        norm = option_key(key)
        if not isinstance(key, str) or norm not in known:
            raise ConfigError(f"{what}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        if norm in out:
            raise ConfigError(f"{what}: key {key!r} is given twice (as '-' and '_' spellings)")
        out[norm] = value
    return out


def read_mapping(path: str | os.PathLike, what: str) -> dict:
    """A YAML (or JSON) file holding a mapping; clear errors for anything else."""
    import yaml

    _UniqueKeyLoader = _unique_key_loader()
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{what} {str(p)!r} not found")
    if not p.is_file():  # a directory, /dev/zero or a FIFO: never read it
        raise ConfigError(f"{what} {str(p)!r} is not a regular file")
    try:
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{what} {str(p)!r} is {p.stat().st_size:,} bytes; a config is at most "
                              f"{MAX_CONFIG_BYTES:,}")
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{what} {str(p)!r} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {str(p)!r} is not valid YAML/JSON: not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKey as exc:
        raise ConfigError(f"{what} {str(p)!r}: key {exc.args[0]!r} is given more than once") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {str(p)!r} is not valid YAML/JSON: {(str(exc).splitlines() or [''])[0]}") from None
    except RecursionError:
        raise ConfigError(f"{what} {str(p)!r} is nested too deeply to be a config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {str(p)!r}: expected a mapping of option names, got {type(data).__name__}")
    return data
