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

from datagen.contract.configfile import parse_size, read_mapping
from datagen.contract import validate as v
from datagen.contract.errors import ConfigError

DERIVED_PARTS = ("year", "month", "day", "hour", "weekday", "date")
TIME_UNITS = ("s", "ms", "us", "ns")
COMPRESSIONS = ("zstd", "snappy", "lz4", "none")
BAD_TIME_POLICIES = ("error", "drop")
DEFAULT_ROW_GROUP_SIZE = 65_536
MAX_WORKERS = 4096
RUNTIME_KEYS = ("scheduler", "memory_limit", "workers", "progress", "overwrite", "out")


def default_memory_limit() -> int:
    """A quarter of physical memory, at least 1 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return max(1 << 30, total // 4)


def check_scheduler(value: Any) -> str:
    """``'local'`` or ``tcp://HOST:PORT`` with a numeric port in 1..65535."""
    expected = "scheduler: expected 'local' or a dask.distributed address tcp://HOST:PORT"
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


def parse_bytes(value: Any, key: str = "memory_limit") -> int:
    """``4GB``, ``512MiB``, ``1e9`` or an int -> bytes (at least 64MiB)."""
    return parse_size(value, key, minimum=64 << 20)


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
        if not isinstance(self.inputs, (list, tuple)) or not self.inputs:
            raise ConfigError(f"inputs: expected at least one input path, got {self.inputs!r}")
        self.inputs = [v.string(i, "inputs") for i in self.inputs]
        self.out = v.string(self.out, "out")
        if "://" in self.out and not self.out.startswith("file://"):
            raise ConfigError(f"out: expected a local directory, got {self.out!r} (object-store output is not supported)")
        if self.out.startswith("file://"):
            self.out = self.out[len("file://"):]
        self.time_column = v.string(self.time_column, "time_column")
        self.group_by = v.string_list(self.group_by, "group_by", allow_none=True)
        if not self.group_by:
            raise ConfigError("group_by: expected at least one group part (e.g. 'month,day')")
        if len(set(self.group_by)) != len(self.group_by):
            raise ConfigError(f"group_by: duplicate part in {self.group_by}")
        if self.time_column in self.group_by:
            raise ConfigError(f"group_by: the time column {self.time_column!r} cannot be a group key; "
                              f"use a derived part such as {', '.join(DERIVED_PARTS)}")
        self.label = v.string(self.label, "label", allow_none=True)
        if self.label is not None and self.label in self.group_by:
            raise ConfigError(f"label: {self.label!r} cannot also be a group key")
        self.time_unit = v.choice(self.time_unit, "time_unit", TIME_UNITS, allow_none=True)
        self.timezone = v.string(self.timezone, "timezone")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise ConfigError(f"timezone: unknown time zone {self.timezone!r} (expected an IANA name such as 'UTC' or 'Europe/Paris')") from None
        self.on_bad_time = v.choice(self.on_bad_time, "on_bad_time", BAD_TIME_POLICIES)
        self.max_rows_per_shard = v.integer(self.max_rows_per_shard, "max_rows_per_shard", minimum=1,
                                            allow_none=True)
        self.min_compression_saving = v.number(self.min_compression_saving, "min_compression_saving",
                                               minimum=0, maximum=1, max_exclusive=True)
        self.compression = v.choice(self.compression, "compression", COMPRESSIONS)
        self.compact = v.boolean(self.compact, "compact")
        self.row_group_size = v.integer(self.row_group_size, "row_group_size", minimum=1024)
        self.memory_limit = parse_bytes(self.memory_limit)
        self.scheduler = check_scheduler(self.scheduler)
        self.workers = v.integer(self.workers, "workers", minimum=1, maximum=MAX_WORKERS, allow_none=True)
        self.overwrite = v.boolean(self.overwrite, "overwrite")
        self.progress = v.boolean(self.progress, "progress")

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
        if not isinstance(key, str) or norm not in CONFIG_KEYS:
            raise ConfigError(f"config file {str(path)!r}: unknown key {key!r} (known: {', '.join(sorted(CONFIG_KEYS))})")
        if norm in out:
            raise ConfigError(f"config file {str(path)!r}: key {key!r} is given twice (as '-' and '_' spellings)")
        out[norm] = value
    return out
