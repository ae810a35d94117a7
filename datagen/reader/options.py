"""``GeneratorOptions``: everything that determines the batches, validated once.

``to_config()`` is JSON-serialisable and is what ``DataGenerator.config``,
``DataGenerator.from_config`` and ``datagen provenance --config`` exchange.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from datagen.contract.configfile import parse_size, read_mapping
from datagen.contract.errors import ConfigError

DEFAULT_MEMORY_BUDGET = 192 << 20
VERIFY_MODES = ("size", "sha256")
DTYPES = ("float32", "float64")
MIN_MEMORY_BUDGET = 256 << 10
MAX_MEMORY_BUDGET = 1 << 50  # 1 PiB: anything larger is a typo, not a budget


def _memory_budget(value: Any) -> int:
    """``memory_budget`` in bytes: finite, at least MIN_MEMORY_BUDGET, at most MAX_MEMORY_BUDGET."""
    bad = f"memory_budget: expected a size such as '192MB' or '1GiB' between {MIN_MEMORY_BUDGET:,} and " \
          f"{MAX_MEMORY_BUDGET:,} bytes, got {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(bad)
    try:
        n = parse_size(value, "memory_budget", MIN_MEMORY_BUDGET)
    except ConfigError:
        raise
    except (ArithmeticError, ValueError, TypeError):  # e.g. "infMB" before parse_size refused it itself
        raise ConfigError(bad) from None
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_MEMORY_BUDGET <= n <= MAX_MEMORY_BUDGET:
        raise ConfigError(bad)
    return n


def _columns(value: Any, key: str) -> list[str]:
    """A non-empty list of distinct column names."""
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


def _column_or_none(value: Any, key: str) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{key}: expected a column name or None, got {value!r}")


def _positive_int(value: Any, key: str, allow_none: bool = False, maximum: int = 2**31 - 1) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ConfigError(f"{key}: expected a positive integer up to {maximum:,}, got {value!r}")


@dataclass
class GeneratorOptions:
    directory: str
    features: list[str] | dict[str, list[str]]
    label: str | None = None
    batch_size: int = 1024
    shuffle: bool = False
    seed: int = 0
    where: str | dict | None = None
    num_classes: int | None = None
    sample_weight: str | None = None
    drop_remainder: bool = False
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    verify: str = "size"
    dtype: str = "float32"               # float outputs: the feature matrix, numeric inputs, sample_weight
    manifest_sha256: str | None = None   # when set, the dataset must still have this exact manifest
    extra: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.directory, (str, os.PathLike)):
            raise ConfigError(f"directory: expected a path, got {self.directory!r}")
        self.directory = os.fspath(self.directory)
        if isinstance(self.features, dict):
            if not self.features:
                raise ConfigError("features: expected at least one input")
            cleaned = {}
            for name, cols in self.features.items():
                if not isinstance(name, str) or not name:
                    raise ConfigError(f"features: input names must be non-empty strings, got {name!r}")
                cleaned[name] = _columns([cols] if isinstance(cols, str) else cols, f"features[{name!r}]")
            self.features = cleaned
        elif isinstance(self.features, (str, list, tuple)):
            self.features = _columns(self.features, "features")
        else:
            raise ConfigError(f"features: expected a list of columns or a dict of lists, got {type(self.features).__name__}")
        _column_or_none(self.label, "label")
        _column_or_none(self.sample_weight, "sample_weight")
        _positive_int(self.batch_size, "batch_size")
        _positive_int(self.num_classes, "num_classes", allow_none=True)
        if self.num_classes is not None and self.num_classes < 2:
            raise ConfigError(f"num_classes: expected at least 2, got {self.num_classes}")
        if self.num_classes is not None and self.label is None:
            raise ConfigError("num_classes: one-hot labels need a label column")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise ConfigError(f"seed: expected a non-negative integer, got {self.seed!r}")
        for key in ("shuffle", "drop_remainder"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key}: expected true or false, got {getattr(self, key)!r}")
        self.memory_budget = _memory_budget(self.memory_budget)
        if not isinstance(self.verify, str) or self.verify not in VERIFY_MODES:
            raise ConfigError(f"verify: expected one of {'|'.join(VERIFY_MODES)}, got {self.verify!r}")
        if not isinstance(self.dtype, str) or self.dtype not in DTYPES:
            raise ConfigError(f"dtype: expected one of {'|'.join(DTYPES)}, got {self.dtype!r}")
        if self.manifest_sha256 is not None and not isinstance(self.manifest_sha256, str):
            raise ConfigError(f"manifest_sha256: expected a hex string, got {self.manifest_sha256!r}")
        if self.where is not None and not isinstance(self.where, (str, dict)):
            raise ConfigError(f"where: expected a filter string or a dict, got {type(self.where).__name__}")
        if isinstance(self.where, dict):  # list-likes as lists (sets sorted), so the config is plain JSON
            self.where = {k: (sorted(v, key=repr) if isinstance(v, (set, frozenset)) else list(v))
                          if isinstance(v, (list, tuple, set, frozenset)) else v for k, v in self.where.items()}

    @property
    def feature_columns(self) -> list[str]:
        if isinstance(self.features, dict):
            return [c for cols in self.features.values() for c in cols]
        return list(self.features)

    def to_config(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("extra")
        return json.loads(json.dumps(data))


CONFIG_KEYS = {f.name for f in dataclasses.fields(GeneratorOptions)} - {"extra"}


def options_from_config(config: dict, **overrides) -> GeneratorOptions:
    if not isinstance(config, dict):
        raise ConfigError(f"generator config: expected a mapping, got {type(config).__name__}")
    data = {str(k).replace("-", "_"): v for k, v in config.items()}
    data.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(data) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"generator config: unknown key {unknown[0]!r} (known: {', '.join(sorted(CONFIG_KEYS))})")
    if "directory" not in data or "features" not in data:
        raise ConfigError("generator config: 'directory' and 'features' are required")
    return GeneratorOptions(**data)


def load_config_file(path: str) -> dict:
    """A generator config from JSON or YAML; a training config may nest it under ``generator:``."""
    data = read_mapping(path, "config file")
    if isinstance(data.get("generator"), dict):
        data = data["generator"]
    return data
