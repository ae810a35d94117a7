"""The generator's options, declared once: defaults, documentation and validation.

``GeneratorOptions`` is everything that determines the batches; ``to_config()`` is
JSON-serialisable and is what ``DataGenerator.config``, ``DataGenerator.from_config`` and
``datagen provenance --config`` exchange. ``RuntimeOptions`` is how batches are delivered
(never part of the config). ``DataGenerator``'s signature and documentation are built from
the two (``generator_signature``, ``OPTIONS_DOC``).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Callable

from datagen.contract import validate
from datagen.contract.configfile import option_mapping, parse_size, read_mapping
from datagen.contract.errors import ConfigError
from .option_values import dtype_name, json_where, python_values

DEFAULT_MEMORY_BUDGET = "192MB"
VERIFY_MODES = ("size", "sha256")
DTYPES = ("float32", "float64")
REPLICA_TAILS = ("pad", "drop")
MIN_MEMORY_BUDGET = 256 << 10
MAX_MEMORY_BUDGET = 1 << 50  # 1 PiB: anything larger is a typo, not a budget
MAX_BATCH = 2**31 - 1


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


@dataclass
class GeneratorOptions:
    """Everything that determines the batches.

    Args:
        directory: a dataset made by ``split-datasets`` (holds ``manifest.json``).
        features: numeric columns -> one float matrix (``dtype``); or ``{input: [columns]}`` -> a dict
            of arrays (text columns allowed there, returned as string arrays).
        label: label column, or None for inputs only (predict). Labels keep their values: int64 labels
            arrive as int64, float64/decimal labels as float64 (rules in ``datagen/reader/outputs.py``).
        batch_size, shuffle, seed, drop_remainder: as usual; shuffling mixes rows across shards
            within windows of at most an eighth of ``memory_budget``.
        where: filter on group values (``"month <= 10"`` or ``{"month": [1, 2]}``); pruned shards
            are never opened.
        num_classes: one-hot encode an integer label. sample_weight: a weight column.
        memory_budget: bytes (or "192MB") the generator may hold: cached windows, the window being
            decoded in the background, and their buffers.
        verify: "size" (cheap check of each selected shard) or "sha256" (full re-hash).
        dtype: "float32" (default) or "float64": the feature matrix, numeric inputs and sample weights.
            Values round to the nearest representable value (integer columns beyond 2**24 for float32
            are announced by a warning at construction).
        manifest_sha256: when set (``gen.config`` sets it), the dataset must still have this exact manifest.
        num_replicas, replica: data-parallel sharding: this generator serves replica ``replica``'s share
            (a contiguous block) of each epoch's batches; shares are disjoint and equal in number.
        replica_tail: "pad" (default: the last shares repeat batches from the epoch's start, so every row
            is served each epoch) or "drop" (the last ``batches % num_replicas`` batches are left out).
        version: read this version of the dataset (``datagen log DIR`` lists them) exactly as it was; None
            reads the current one. ``gen.config`` records the version read, so a run can be traced later.
    """

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
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET  # bytes once validated
    verify: str = "size"
    dtype: str = "float32"
    manifest_sha256: str | None = None
    num_replicas: int = 1
    replica: int = 0
    replica_tail: str = "pad"
    version: int | None = None

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
                cleaned[name] = validate.column_names([cols] if isinstance(cols, str) else cols,
                                                      f"features[{name!r}]")
            self.features = cleaned
        elif not isinstance(self.features, (set, frozenset)) and hasattr(self.features, "__iter__"):
            self.features = validate.column_names(self.features, "features")  # a list, tuple, Index, array
        else:
            raise ConfigError(f"features: expected a list of columns or a dict of lists, got {type(self.features).__name__}")
        self.label = validate.column_name(self.label, "label")
        self.sample_weight = validate.column_name(self.sample_weight, "sample_weight")
        self.batch_size = validate.positive_integer(self.batch_size, "batch_size", MAX_BATCH)
        self.num_classes = validate.positive_integer(self.num_classes, "num_classes", MAX_BATCH, allow_none=True)
        if self.num_classes is not None and self.num_classes < 2:
            raise ConfigError(f"num_classes: expected at least 2, got {self.num_classes}")
        if self.num_classes is not None and self.label is None:
            raise ConfigError("num_classes: one-hot labels need a label column")
        if self.sample_weight is not None and self.label is None:
            raise ConfigError(f"sample_weight={self.sample_weight!r} needs a label column: Keras ignores sample "
                              "weights without targets; pass label=... or drop sample_weight")
        self.seed = validate.non_negative_integer(self.seed, "seed")
        self.shuffle = validate.boolean(self.shuffle, "shuffle")
        self.drop_remainder = validate.boolean(self.drop_remainder, "drop_remainder")
        self.memory_budget = _memory_budget(validate.plain(self.memory_budget))
        validate.choice(self.verify, "verify", VERIFY_MODES)
        self.dtype = validate.choice(dtype_name(self.dtype), "dtype", DTYPES)
        if self.manifest_sha256 is not None and not isinstance(self.manifest_sha256, str):
            raise ConfigError(f"manifest_sha256: expected a hex string, got {self.manifest_sha256!r}")
        self.num_replicas = validate.positive_integer(self.num_replicas, "num_replicas")
        self.replica = validate.non_negative_integer(self.replica, "replica")
        if self.replica >= self.num_replicas:
            raise ConfigError(f"replica: expected an integer in [0, num_replicas={self.num_replicas}), got {self.replica}")
        validate.choice(self.replica_tail, "replica_tail", REPLICA_TAILS)
        self.version = validate.positive_integer(self.version, "version", allow_none=True)
        if self.where is not None and not isinstance(self.where, (str, dict)):
            raise ConfigError(f"where: expected a filter string or a dict, got {type(self.where).__name__}")
        if isinstance(self.where, dict):  # plain JSON values (filter_values.python_value), sets sorted
            self.where = {k: python_values(v) for k, v in self.where.items()}

    @property
    def feature_columns(self) -> list[str]:
        if isinstance(self.features, dict):
            return [c for cols in self.features.values() for c in cols]
        return list(self.features)

    def to_config(self, group_types: dict[str, str] | None = None) -> dict[str, Any]:
        """Plain JSON (no NaN or Infinity tokens); ``group_types`` (the manifest's) say how a ``where``
        dict's Decimal values are written (option_values.json_where)."""
        cfg = dataclasses.asdict(self)
        cfg["where"] = json_where(cfg["where"], group_types)
        return json.loads(json.dumps(cfg, allow_nan=False))


@dataclass
class RuntimeOptions:
    """How batches are delivered (never part of the config).

    Args:
        transform: optional callable applied to each batch tuple.
        workers, use_multiprocessing, max_queue_size: passed to ``keras.utils.PyDataset``.
        storage_options: for a dataset URL (``s3://bucket/prefix``): passed to fsspec (e.g.
            ``{"endpoint_url": ..., "profile": ...}``); credentials otherwise come from the environment.
        cache_dir, cache_size: where shards of a dataset URL are cached on local disk (default
            ``~/.cache/datagen/shards``) and the most bytes they may take there (LRU; default "2GB").
        text_tensors: False (default): text inputs are numpy object arrays (None for null). True
            (TensorFlow backend): they are tf.string tensors (null -> ""), which ``model.fit(gen)`` takes.
    """

    transform: Callable | None = None
    workers: int = 1
    use_multiprocessing: bool = False
    max_queue_size: int = 10
    storage_options: dict | None = None
    cache_dir: str | None = None
    cache_size: int | str = "2GB"
    text_tensors: bool = False

    def __post_init__(self) -> None:
        self.workers = validate.positive_integer(self.workers, "workers")
        self.use_multiprocessing = validate.boolean(self.use_multiprocessing, "use_multiprocessing")
        self.max_queue_size = validate.positive_integer(self.max_queue_size, "max_queue_size")
        validate.callable_or_none(self.transform, "transform")
        self.text_tensors = validate.boolean(self.text_tensors, "text_tensors")
        from datagen.contract.storage import check_storage_options

        self.storage_options = check_storage_options(self.storage_options)
        if self.cache_dir is not None and not isinstance(self.cache_dir, (str, os.PathLike)):
            raise ConfigError(f"cache_dir: expected a directory path, got {self.cache_dir!r}")
        self.cache_dir = os.path.abspath(os.path.expanduser(os.fspath(   # absolute: a later os.chdir changes nothing
            self.cache_dir or os.path.join("~", ".cache", "datagen", "shards"))))
        self.cache_size = parse_size(validate.plain(self.cache_size), "cache_size", 1)


CONFIG_KEYS = {f.name for f in dataclasses.fields(GeneratorOptions)}
RUNTIME_KEYS = tuple(f.name for f in dataclasses.fields(RuntimeOptions))


def generator_signature() -> inspect.Signature:
    """``DataGenerator(directory, features, *, <every other option with its default>)``."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for cls in (GeneratorOptions, RuntimeOptions):
        for f in dataclasses.fields(cls):
            kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if f.name in ("directory", "features") \
                else inspect.Parameter.KEYWORD_ONLY
            default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
            params.append(inspect.Parameter(f.name, kind, default=default, annotation=f.type))
    return inspect.Signature(params)


def _args(cls) -> str:
    return cls.__doc__.split("Args:\n", 1)[1].rstrip()


OPTIONS_DOC = f"    Args:\n{_args(GeneratorOptions)}\n{_args(RuntimeOptions)}\n"


def options_from_config(config: dict, **overrides) -> GeneratorOptions:
    if not isinstance(config, dict):
        raise ConfigError(f"generator config: expected a mapping, got {type(config).__name__}")
    data = option_mapping(config, CONFIG_KEYS, "generator config")
    data.update({k: v for k, v in overrides.items() if v is not None})
    if "directory" not in data or "features" not in data:
        raise ConfigError("generator config: 'directory' and 'features' are required")
    return GeneratorOptions(**data)


def load_config_file(path: str) -> dict:
    """A generator config from JSON or YAML; a training config may nest it under ``generator:``."""
    data = read_mapping(path, "config file")
    if isinstance(data.get("generator"), dict):
        data = data["generator"]
    return data
