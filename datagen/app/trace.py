"""``datagen provenance``'s work: the generator a run used (from a saved config, a checkpoint state or
flags), the batch it names, and that batch's source rows printed as a table, CSV or JSON."""

from __future__ import annotations

import warnings

import click

from datagen.contract.errors import ConfigError
from datagen.contract.storage import parse_storage_options, refuse_unused_options

from .trace_flags import read_flags


def _batch_of(batch: int | None, step: int | None) -> int:
    if batch is not None and step is not None and batch != step:
        raise ConfigError(f"--batch {batch} and --step {step} name different batches; give one of them")
    batch = step if batch is None else batch
    if batch is None:
        raise ConfigError("give --batch N or --step N (0-based batch of the epoch)")
    return batch


def _config(directory: str, config_file, state_file, flags: dict) -> dict:
    """The generator config: a saved gen.config, or the one a checkpoint state holds, with ``directory``."""
    from datagen.reader.options import load_config_file

    if config_file and state_file:
        raise ConfigError("give --config or --state, not both (a state file holds the generator config)")
    if state_file:
        from datagen.reader.resume import check_own, read_state

        given = sorted(k for k, v in flags.items() if v is not None)
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise ConfigError(f"{flag} cannot be given with --state: the state holds the run's options (and the "
                              "dataset version it trained on); drop the flag, or use --config to override options")
        state = read_state(state_file)
        check_own(state)  # an edited state is refused here as gen.restore refuses it
        config = dict(state["config"])
    else:
        config = load_config_file(config_file) if config_file else {}
    config["directory"] = directory
    if "features" not in config and not flags.get("features"):
        raise ConfigError("give --config FILE (a saved gen.config) or at least --features")
    return config


def _cache_dir(given):
    from datagen.reader.options import RuntimeOptions

    return RuntimeOptions(cache_dir=given).cache_dir


def trace_batch(directory, batch, step, epoch, config_file, state_file, fmt, storage_option, cache_dir, flags) -> None:
    """Print which source rows made batch ``batch`` (or ``step``) of ``epoch``, in ``fmt``."""
    from datagen.reader.batches import BatchSource
    from datagen.reader.epochview import EpochView
    from datagen.reader.options import options_from_config

    batch = _batch_of(batch, step)
    flags = read_flags(flags)
    config = _config(directory, config_file, state_file, flags)
    options = options_from_config(config, **flags)
    with warnings.catch_warnings():  # training-time advice (e.g. float32 rounding) is noise when only tracing
        warnings.simplefilter("ignore", UserWarning)
        from datagen.reader.store import Storage

        storage = parse_storage_options(storage_option)
        refuse_unused_options(storage, [options.directory], "DIRECTORY")   # named as the command's flag
        source = BatchSource(options, storage=Storage(storage, _cache_dir(cache_dir)))
    view = EpochView(len(source), options.num_replicas, options.replica, options.replica_tail)
    if not 0 <= batch < view.per_replica:
        raise ConfigError(f"--batch/--step {batch} is out of range: this generator has {view.per_replica} batches "
                          f"per epoch (valid 0..{view.per_replica - 1})")
    if epoch < 0:
        raise ConfigError(f"--epoch must be >= 0, got {epoch}")
    table = source.provenance(view.plan_batch(batch), epoch)
    from datagen.contract.sourcecheck import changed_sources

    from .trace_notes import override_notes, version_note

    for line in [*override_notes(config, flags, config_file, options),
                 *version_note(config, flags, config_file, source.manifest.number),
                 *changed_sources(source.manifest, table["source_id"].unique())]:
        click.echo(f"note: {line}", err=True)
    if fmt == "csv":
        click.echo(table.to_csv(), nl=False)
    elif fmt == "json":
        click.echo(table.reset_index().to_json(orient="records", indent=1))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 60):
            click.echo(f"batch {batch} of epoch {epoch}: {len(table)} examples")
            click.echo(table.to_string())
