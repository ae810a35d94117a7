"""``GeneratorOptions``: everything that determines the batches, validated once.

``to_config()`` is JSON-serialisable and is what ``DataGenerator.config``,
``DataGenerator.from_config`` and ``datagen provenance --config`` exchange.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from . import validate as v
from .configfile import parse_size, read_mapping
from .errors import ConfigError

DEFAULT_MEMORY_BUDGET = 192 << 20
VERIFY_MODES = ("size", "sha256")
MIN_MEMORY_BUDGET = 256 << 10


def _positive_int(value: Any, key: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}: expected a positive integer, got {value!r}")


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
    manifest_sha256: str | None = None   # when set, the dataset must still have this exact manifest
    extra: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.directory = v.string(str(self.directory) if isinstance(self.directory, os.PathLike) else self.directory,
                                  "directory")
        for key in ("label", "sample_weight", "manifest_sha256"):
            setattr(self, key, v.string(getattr(self, key), key, allow_none=True))
        if isinstance(self.features, (list, tuple)):
            v.string_list(list(self.features), "features")
        if isinstance(self.features, str):
            self.features = [c.strip() for c in self.features.split(",") if c.strip()]
        if isinstance(self.features, (list, tuple)):
            self.features = [str(c) for c in self.features]
            if not self.features:
                raise ConfigError("features: expected at least one column")
        elif isinstance(self.features, dict):
            if not self.features:
                raise ConfigError("features: expected at least one input")
            cleaned = {}
            for name, cols in self.features.items():
                if isinstance(cols, str):
                    cols = [cols]
                if not isinstance(cols, (list, tuple)) or not cols:
                    raise ConfigError(f"features[{name!r}]: expected a non-empty list of columns, got {cols!r}")
                v.string(name, "features (input name)")
                v.string_list(list(cols), f"features[{name!r}]")
                cleaned[str(name)] = [str(c) for c in cols]
            self.features = cleaned
        else:
            raise ConfigError(f"features: expected a list of columns or a dict of lists, got {type(self.features).__name__}")
        _positive_int(self.batch_size, "batch_size")
        _positive_int(self.num_classes, "num_classes", allow_none=True)
        if self.num_classes is not None and self.num_classes < 2:
            raise ConfigError(f"num_classes: expected at least 2, got {self.num_classes}")
        if self.num_classes is not None and self.label is None:
            raise ConfigError("num_classes: one-hot labels need a label column")
        v.integer(self.seed, "seed", minimum=0, maximum=2**64 - 1)
        v.integer(self.batch_size, "batch_size", minimum=1, maximum=2**31 - 1)
        for key in ("shuffle", "drop_remainder"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key}: expected true or false, got {getattr(self, key)!r}")
        self.memory_budget = parse_size(self.memory_budget, "memory_budget", MIN_MEMORY_BUDGET)
        if self.verify not in VERIFY_MODES:
            raise ConfigError(f"verify: expected one of {'|'.join(VERIFY_MODES)}, got {self.verify!r}")
        if self.where is not None and not isinstance(self.where, (str, dict)):
            raise ConfigError(f"where: expected a filter string or a dict, got {type(self.where).__name__}")

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
