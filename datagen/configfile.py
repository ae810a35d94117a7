"""Small helpers shared by the split and generator configs: sizes and YAML/JSON files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import ConfigError

SIZE_UNITS = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
              "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "k": 10**3, "m": 10**6, "g": 10**9, "b": 1}


def parse_size(value: Any, key: str, minimum: int) -> int:
    """``'4GB'``, ``'512MiB'``, ``1e9`` or an int -> bytes, at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{key}: expected a size such as '4GB' or '512MiB', got {value!r}")
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        scale = 1
        for suffix, mult in SIZE_UNITS.items():
            if text.endswith(suffix):
                text, scale = text[: -len(suffix)], mult
                break
        try:
            n = int(float(text) * scale)
        except ValueError:
            raise ConfigError(f"{key}: expected a size such as '4GB' or '512MiB', got {value!r}") from None
    else:
        n = int(value)
    if n < minimum:
        raise ConfigError(f"{key}: expected at least {minimum:,} bytes, got {value!r}")
    return n


def read_mapping(path: str | os.PathLike, what: str) -> dict:
    """A YAML (or JSON) file holding a mapping; clear errors for anything else."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {str(p)!r} not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {str(p)!r} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {str(p)!r}: expected a mapping of option names, got {type(data).__name__}")
    return data
