"""``datagen provenance``'s generator flags: one per GeneratorOptions field that decides which rows a batch
holds (windows are packed by the bytes a decoded row takes, so dtype, sample_weight, num_classes and the
label matter as much as batch_size and seed), and the fields that do not, each with the reason.

``tests/test_provenance_flags.py`` enumerates the option fields against ``FLAGS`` and ``NOT_FLAGS``."""

from __future__ import annotations

import json

import click

from datagen.contract.errors import ConfigError

NOT_FLAGS = {
    "directory": "the DIRECTORY argument",
    "verify": "how shards are checked when opened; never which rows a batch holds",
    "manifest_sha256": "an identity check on the dataset; never which rows a batch holds (--version names it)",
}

FLAGS = (  # (option field, click option) in --help order
    ("features", click.option("--features", help="Feature columns, comma-separated, or a JSON object of inputs "
                              "such as '{\"num\": [\"f0\", \"f1\"], \"txt\": [\"name\"]}' (required without "
                              "--config).")),
    ("label", click.option("--label", help="Label column.")),
    ("sample_weight", click.option("--sample-weight", help="The run's sample_weight column.")),
    ("num_classes", click.option("--num-classes", type=int, help="The run's num_classes (one-hot labels).")),
    ("dtype", click.option("--dtype", type=click.Choice(["float32", "float64"]), help="The run's dtype.")),
    ("batch_size", click.option("--batch-size", type=int, help="Batch size.")),
    ("shuffle", click.option("--shuffle/--no-shuffle", default=None, help="Whether the generator shuffled.")),
    ("seed", click.option("--seed", type=int, help="Shuffle seed.")),
    ("where", click.option("--where", help="Group filter, e.g. \"month <= 10\", \"`Primary Type` == 'THEFT'\" "
                           "(backticks quote any column name) or a JSON object such as '{\"month\": [1, 2]}'.")),
    ("drop_remainder", click.option("--drop-remainder/--keep-remainder", default=None)),
    ("memory_budget", click.option("--memory-budget", help="The generator's memory budget, e.g. 256MB.")),
    ("version", click.option("--version", "version", type=int,
                             help="Dataset version the run read (gen.config records it).")),
    ("num_replicas", click.option("--num-replicas", type=int, help="Replicas of a data-parallel run (with --replica).")),
    ("replica", click.option("--replica", type=int, help="Which replica trained the batch (0-based).")),
    ("replica_tail", click.option("--replica-tail", type=click.Choice(["pad", "drop"]), help="The run's replica_tail.")),
)


def generator_flags(command):
    """Decorate ``command`` with every flag of FLAGS (first listed first in --help)."""
    for _, option in reversed(FLAGS):
        command = option(command)
    return command


def _json_object(text: str, flag: str, shape: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{flag}: {text[:80]!r} starts with '{{' but is not a JSON object ({exc.msg}); "
                          f"write it as {shape}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{flag}: expected a JSON object such as {shape}, got {text[:80]!r}")
    return value


def read_flags(flags: dict) -> dict:
    """The flags as option values: --features as a list (or a JSON object of inputs), --where a JSON
    object (column -> value or list of values) when it is one."""
    flags = dict(flags)
    features = flags.get("features")
    if features is not None:
        if features.lstrip().startswith("{"):
            flags["features"] = _json_object(features, "--features", '{"input": ["column", ...]}')
        else:
            flags["features"] = [c.strip() for c in features.split(",") if c.strip()]
    where = flags.get("where")
    if where is not None and where.lstrip().startswith("{"):
        flags["where"] = _json_object(where, "--where", '{"column": [value, ...]}')
    return flags
