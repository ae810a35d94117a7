"""``SplitConfig``: every option of a split, validated in one place.

The same keys are accepted from ``split-datasets`` flags and from a YAML file
(``--config``); flags win. ``semantic()`` is the part that determines the
output bytes and is stored in the manifest; runtime knobs (scheduler, memory
limit, progress) are not part of it.
"""

from __future__ import annotations

import dataclasses
import os
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from datagen.configfile import parse_size, read_mapping
from datagen.errors import ConfigError

DERIVED_PARTS = ("year", "month", "day", "hour", "weekday", "date")
TIME_UNITS = ("s", "ms", "us", "ns")
COMPRESSIONS = ("zstd", "snappy", "lz4", "none")
BAD_TIME_POLICIES = ("error", "drop")
DEFAULT_ROW_GROUP_SIZE = 65_536
RUNTIME_KEYS = ("scheduler", "memory_limit", "workers", "progress", "overwrite", "out")


def default_memory_limit() -> int:
    """A quarter of physical memory, at least 1 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return max(1 << 30, total // 4)


def parse_bytes(value: Any, key: str = "memory_limit") -> int:
    """``4GB``, ``512MiB``, ``1e9`` or an int -> bytes (at least 64MiB)."""
    return parse_size(value, key, minimum=64 << 20)


def _split_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        raise ConfigError(f"{key}: expected a comma-separated string or a list, got {type(value).__name__}")
    if any(not v for v in items):
        raise ConfigError(f"{key}: empty name in {value!r}")
    return items


@dataclass
class SplitConfig:
    inputs: list[str]
    out: str
    time_column: str
    group_by: list[str] = field(default_factory=lambda: ["month", "day"])
    label: str | None = None
    time_unit: str | None = None
    timezone: str = "UTC"
    on_bad_time: str = "error"
    max_rows_per_shard: int | None = None
    compression: str = "zstd"
    min_compression_saving: float = 0.15
    compact: bool = False
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE
    memory_limit: int = field(default_factory=default_memory_limit)
    scheduler: str = "local"
    workers: int | None = None
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.inputs, str):
            self.inputs = [self.inputs]
        if not self.inputs or not all(isinstance(i, str) and i for i in self.inputs):
            raise ConfigError(f"inputs: expected at least one input path, got {self.inputs!r}")
        if not self.out or not isinstance(self.out, str):
            raise ConfigError(f"out: expected an output directory, got {self.out!r}")
        if "://" in self.out and not self.out.startswith("file://"):
            raise ConfigError(f"out: expected a local directory, got {self.out!r} (object-store output is not supported)")
        if self.out.startswith("file://"):
            self.out = self.out[len("file://"):]
        if not self.time_column or not isinstance(self.time_column, str):
            raise ConfigError(f"time_column: expected a column name, got {self.time_column!r}")
        self.group_by = _split_list(self.group_by, "group_by")
        if not self.group_by:
            raise ConfigError("group_by: expected at least one group part (e.g. 'month,day')")
        if len(set(self.group_by)) != len(self.group_by):
            raise ConfigError(f"group_by: duplicate part in {self.group_by}")
        if self.time_column in self.group_by:
            raise ConfigError(f"group_by: the time column {self.time_column!r} cannot be a group key; "
                              f"use a derived part such as {', '.join(DERIVED_PARTS)}")
        if self.label is not None and self.label in self.group_by:
            raise ConfigError(f"label: {self.label!r} cannot also be a group key")
        if self.time_unit is not None and self.time_unit not in TIME_UNITS:
            raise ConfigError(f"time_unit: expected one of {'|'.join(TIME_UNITS)}, got {self.time_unit!r}")
        try:
            zoneinfo.ZoneInfo(str(self.timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"timezone: unknown time zone {self.timezone!r} (expected an IANA name such as 'UTC' or 'Europe/Paris')") from None
        if self.on_bad_time not in BAD_TIME_POLICIES:
            raise ConfigError(f"on_bad_time: expected one of {'|'.join(BAD_TIME_POLICIES)}, got {self.on_bad_time!r}")
        if self.max_rows_per_shard is not None:
            if isinstance(self.max_rows_per_shard, bool) or not isinstance(self.max_rows_per_shard, int) or self.max_rows_per_shard < 1:
                raise ConfigError(f"max_rows_per_shard: expected a positive integer, got {self.max_rows_per_shard!r}")
        if isinstance(self.min_compression_saving, bool) or not isinstance(self.min_compression_saving, (int, float)) \
                or not 0 <= self.min_compression_saving < 1:
            raise ConfigError(f"min_compression_saving: expected a fraction in [0, 1), got {self.min_compression_saving!r}")
        self.min_compression_saving = float(self.min_compression_saving)
        if self.compression not in COMPRESSIONS:
            raise ConfigError(f"compression: expected one of {'|'.join(COMPRESSIONS)}, got {self.compression!r}")
        if isinstance(self.row_group_size, bool) or not isinstance(self.row_group_size, int) or self.row_group_size < 1024:
            raise ConfigError(f"row_group_size: expected an integer >= 1024, got {self.row_group_size!r}")
        if not isinstance(self.memory_limit, int) or isinstance(self.memory_limit, bool):
            self.memory_limit = parse_bytes(self.memory_limit)
        elif self.memory_limit < (64 << 20):
            raise ConfigError(f"memory_limit: expected at least 64MiB, got {self.memory_limit} bytes")
        if not isinstance(self.scheduler, str) or not (self.scheduler == "local" or self.scheduler.startswith("tcp://")):
            raise ConfigError(f"scheduler: expected 'local' or a dask.distributed address tcp://HOST:PORT, got {self.scheduler!r}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1):
            raise ConfigError(f"workers: expected a positive integer, got {self.workers!r}")

    @property
    def plain_group_columns(self) -> list[str]:
        return [g for g in self.group_by if g not in DERIVED_PARTS]

    def semantic(self) -> dict[str, Any]:
        """The options that decide the output; stored in the manifest as ``config``."""
        data = dataclasses.asdict(self)
        return {k: v for k, v in data.items() if k not in RUNTIME_KEYS}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


CONFIG_KEYS = {f.name for f in dataclasses.fields(SplitConfig)}


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML (or JSON) split config; keys may use '-' or '_'."""
    data = read_mapping(path, "config file")
    out: dict[str, Any] = {}
    for key, value in data.items():
        norm = str(key).replace("-", "_")
        if norm not in CONFIG_KEYS:
            raise ConfigError(f"config file {str(path)!r}: unknown key {key!r} (known: {', '.join(sorted(CONFIG_KEYS))})")
        out[norm] = value
    return out
