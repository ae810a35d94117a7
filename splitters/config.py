"""The options of a split, declared once, in two documented dataclasses:

- :class:`OutputSettings` shape the output bytes; they are stored in the
  manifest as ``config`` (field order = the JSON's key order) and decide
  whether ``--out`` is up to date;
- :class:`RunSettings` say how and where one run works (scheduler, memory,
  workers, progress, overwrite, ``--out``); they never change the shards.

``SplitConfig`` is both at once: the same keys are accepted from
``split-datasets`` flags, a YAML file (``--config``, flags win) and Python.
Values are checked with the validators of :mod:`datagen.contract.validate`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from datagen.contract.configfile import option_mapping, parse_size, read_mapping
from datagen.contract import validate as v
from datagen.contract.errors import ConfigError

from .timeformat import check_time_format

DERIVED_PARTS = ("year", "month", "day", "hour", "weekday", "date")
TIME_UNITS = ("s", "ms", "us", "ns")
COMPRESSIONS = ("zstd", "snappy", "lz4", "none")
BAD_TIME_POLICIES = ("error", "drop")
MISSING_TIME_POLICIES = ("group", "drop", "error")
# options about the time column: given without one they would do nothing, so they are refused
TIME_OPTIONS = {"time_unit": None, "timezone": "UTC", "on_bad_time": "error", "on_missing_time": "group"}
# stored in the manifest's config only when set: a manifest without the key reads and appends as before
ABSENT_WHEN_NONE = ("naive_timezone", "time_format")
DEFAULT_ROW_GROUP_SIZE = 65_536
MAX_WORKERS = 4096
DEFAULT_BLOCKSIZE = 64 << 20   # bytes of an uncompressed CSV file per stage task
MIN_BLOCKSIZE = 256


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def default_memory_limit() -> int:
    """A quarter of physical memory, at least 1 GiB."""
    return max(1 << 30, physical_memory() // 4)


def parse_bytes(value: Any, key: str = "memory_limit") -> int:
    """``4GB``, ``512MiB``, ``1e9`` or an int -> bytes (at least 64MiB)."""
    return parse_size(value, key, minimum=64 << 20)


@dataclass(kw_only=True)
class OutputSettings:
    """What the split writes: the inputs, how rows are timed and grouped, how shards are encoded."""

    inputs: list[str]
    time_column: str | None = None   # None: no time; shards hold rows in source file and row order
    group_by: list[str] = field(default_factory=lambda: ["month", "day"])
    label: str | None = None
    time_unit: str | None = None
    timezone: str | None = None      # default UTC when there is a time column (see _check_time_options)
    naive_timezone: str | None = None   # zone-less times are wall-clock times there; None (stored: absent) is UTC
    time_format: str | None = None   # strptime format of text times (None, stored: absent: ISO-8601); timeformat.py
    on_bad_time: str | None = None   # default "error"
    on_missing_time: str | None = None   # default "group"
    max_rows_per_shard: int | None = None
    compression: str = "zstd"
    min_compression_saving: float = 0.15
    compact: bool = False
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE
    encoding: str | None = None  # of CSV inputs; None is UTF-8

    def _check_output(self) -> None:
        if isinstance(self.inputs, str):
            self.inputs = [self.inputs]
        if not isinstance(self.inputs, (list, tuple)) or not self.inputs:
            raise ConfigError(f"inputs: expected at least one input path, got {self.inputs!r}")
        self.inputs = [v.string(i, "inputs") for i in self.inputs]
        self.time_column = v.string(self.time_column, "time_column", allow_none=True)
        exact = list(self.group_by) if isinstance(self.group_by, (list, tuple)) else None
        self.group_by = v.string_list(self.group_by, "group_by", allow_none=True)
        if exact is not None:   # a list (YAML, Python) names columns exactly; 'a, b' (the flag) is stripped
            self.group_by = exact
        if not self.group_by:
            raise ConfigError("group_by: expected at least one group part (e.g. 'month,day')")
        if len(set(self.group_by)) != len(self.group_by):
            raise ConfigError(f"group_by: duplicate part in {self.group_by}")
        if self.time_column in self.group_by:
            raise ConfigError(_time_column_as_key(self.time_column))
        self.label = v.string(self.label, "label", allow_none=True)
        if self.label is not None and self.label in self.group_by:
            raise ConfigError(f"label: {self.label!r} cannot also be a group key")
        self._check_time_options()
        self.max_rows_per_shard = v.integer(self.max_rows_per_shard, "max_rows_per_shard", minimum=1,
                                            allow_none=True)
        self.min_compression_saving = v.number(self.min_compression_saving, "min_compression_saving",
                                               minimum=0, maximum=1, max_exclusive=True)
        self.compression = v.choice(self.compression, "compression", COMPRESSIONS)
        self.compact = v.boolean(self.compact, "compact")
        self.row_group_size = v.integer(self.row_group_size, "row_group_size", minimum=1024)
        self.encoding = v.text_encoding(self.encoding, "encoding")

    def _check_time_options(self) -> None:
        """The time options default only when there is a time column; without one, giving any is an
        error (it would silently do nothing), and they stay None in the stored config."""
        if self.time_column is None:
            given = [k for k in (*TIME_OPTIONS, *ABSENT_WHEN_NONE) if getattr(self, k) is not None]
            if given:
                flags = ", ".join("--" + k.replace("_", "-") for k in given)
                raise ConfigError(f"{flags} given without --time-column; these options are about the time column: "
                                  "pass --time-column NAME, or leave them out")
            return
        for key, default in TIME_OPTIONS.items():
            if getattr(self, key) is None:
                setattr(self, key, default)
        self.time_unit = v.choice(self.time_unit, "time_unit", TIME_UNITS, allow_none=True)
        self.timezone = v.time_zone(self.timezone, "timezone")
        if self.naive_timezone is not None:   # UTC is the default, stored as no key (manifests before it)
            zone = v.time_zone(self.naive_timezone, "naive_timezone")
            self.naive_timezone = None if zone == "UTC" else zone
        self.time_format = check_time_format(self.time_format)
        self.on_bad_time = v.choice(self.on_bad_time, "on_bad_time", BAD_TIME_POLICIES)
        self.on_missing_time = v.choice(self.on_missing_time, "on_missing_time", MISSING_TIME_POLICIES)

    def __post_init__(self) -> None:
        self._check_output()

    @property
    def csv_time_unit(self) -> str | None:
        """--time-unit as the CSV reader sees it: with --time-format a CSV time column is text, digits too."""
        return None if self.time_format else self.time_unit

    def derived_group_parts(self, columns) -> set[str]:
        """The group parts derived from the time column: a name that is a column of the table means that
        column; a name that is not, and is a calendar part (year, month, ...), is derived."""
        return {g for g in self.group_by if g in DERIVED_PARTS and g not in columns}

    def plain_group_columns(self, columns) -> list[str]:
        """The group parts that are columns of the table (not derived from the time)."""
        derived = self.derived_group_parts(columns)
        return [g for g in self.group_by if g not in derived]

    def semantic(self) -> dict[str, Any]:
        """The options that decide the output; stored in the manifest as ``config``."""
        data = dataclasses.asdict(self)
        return {f.name: data[f.name] for f in dataclasses.fields(OutputSettings)
                if f.name not in ABSENT_WHEN_NONE or data[f.name] is not None}


@dataclass(kw_only=True)
class RunSettings:
    """How one run works: where it writes and with what resources. Never stored, never changes a shard."""

    out: str
    memory_limit: int = field(default_factory=default_memory_limit)
    scheduler: str = "local"
    workers: int | None = None
    overwrite: bool = False
    append: bool = False    # add the inputs to the dataset in --out as a new version (splitters/append.py)
    progress: bool = True
    staging: str | None = None        # remote --out only: where staged files go (see remote_split.py)
    storage_options: dict = field(default_factory=dict)  # passed to fsspec for every URL (inputs, --out)
    blocksize: int = DEFAULT_BLOCKSIZE  # CSV bytes per stage task; never changes a shard (see csvscan.py)
    staging_memory: int = 0   # staged bytes a local split keeps in memory instead of staged files (stage_memory.py)

    def _check_run(self) -> None:
        from datagen.contract.storage import check_storage_options, is_remote

        self.out = v.string(self.out, "out")
        if is_remote(self.out):
            self.out = self.out.rstrip("/")
            if not self.out.split("://", 1)[1]:
                raise ConfigError(f"out: expected a bucket and prefix such as s3://bucket/dataset, got {self.out!r}")
        self.staging = v.string(self.staging, "staging", allow_none=True)
        if self.staging is not None and not is_remote(self.out):
            raise ConfigError("staging: only for an object-store --out (a local --out stages inside itself)")
        self.storage_options = check_storage_options(self.storage_options)
        from datagen.contract.storage import refuse_unused_options

        if hasattr(self, "inputs"):  # a whole SplitConfig: its inputs and --out are known
            refuse_unused_options(self.storage_options, [*self.inputs, self.out], "INPUTS/--out")
        if self.out.startswith("file://"):
            self.out = self.out[len("file://"):]
        self.memory_limit = parse_bytes(self.memory_limit)
        self.scheduler = v.dask_scheduler(self.scheduler, "scheduler")
        self.workers = v.integer(self.workers, "workers", minimum=1, maximum=MAX_WORKERS, allow_none=True)
        if self.workers is not None and self.scheduler != "local":  # the cluster's threads are the workers
            raise ConfigError(f"workers: only for the local scheduler; the cluster at {self.scheduler!r} runs on its own "
                              "workers' threads: leave out --workers (size the cluster with dask worker --nthreads)")
        self.overwrite = v.boolean(self.overwrite, "overwrite")
        self.append = v.boolean(self.append, "append")
        if self.append and self.overwrite:
            raise ConfigError("append and overwrite exclude each other: --append adds to the dataset in --out, "
                              "--overwrite replaces it; pass one")
        self.progress = v.boolean(self.progress, "progress")
        self.blocksize = parse_size(self.blocksize, "blocksize", minimum=MIN_BLOCKSIZE)
        self.staging_memory = parse_size(self.staging_memory, "staging_memory", minimum=0)
        if self.staging_memory and (self.scheduler != "local" or is_remote(self.out)):
            where = f"--scheduler {self.scheduler}" if self.scheduler != "local" else f"--out {self.out}"
            raise ConfigError(f"staging_memory: only for a local --out on the local scheduler (staged batches stay in "
                              f"this process's memory); with {where} it would do nothing: leave it out")
        if self.staging_memory > physical_memory() // 2:
            raise ConfigError(f"staging_memory: expected at most half of this machine's memory "
                              f"({physical_memory() // 2:,} bytes), got {self.staging_memory:,}")

    def __post_init__(self) -> None:
        self._check_run()


@dataclass(kw_only=True)
class SplitConfig(OutputSettings, RunSettings):
    """Every option of a split (keyword arguments): the :class:`OutputSettings` and the :class:`RunSettings`."""

    def __post_init__(self) -> None:
        self._check_output()
        self._check_run()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


CONFIG_KEYS = {f.name for f in dataclasses.fields(SplitConfig)}


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML (or JSON) split config; keys may use '-' or '_'."""
    return option_mapping(read_mapping(path, "config file"), CONFIG_KEYS, f"config file {str(path)!r}")


def _time_column_as_key(name: str) -> str:
    """Why the time column cannot be a group key, and a way out that works; a time column named like a
    derived part shadows it (a name that is a column means the column), and deriving the part anyway
    would put a second column of that name (the hive path's) beside the time column in every reader."""
    if name not in DERIVED_PARTS:
        return (f"group_by: the time column {name!r} cannot be a group key; use a derived part such as "
                f"{', '.join(DERIVED_PARTS)}")
    same = {"date": "year,month,day (the same groups: one per date)"}.get(name)
    other = ", ".join(p for p in DERIVED_PARTS if p != name)
    return (f"group_by: {name!r} is the time column's own name, so it means that column (which cannot be a group "
            f"key), not the derived part {name!r}: a derived {name!r} would read back as a second column of that "
            f"name beside it; group by {same or f'other derived parts ({other})'}, or rename the column in the input")
