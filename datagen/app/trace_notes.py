"""``datagen provenance``'s notes on what it answered for, one ``note:`` line each on stderr:

- a flag given with ``--config`` that overrides a value the config holds (the option, both values): the
  rows named are then those of the run as overridden, not of the saved run;
- no dataset version named (neither the config nor ``--version``) while the dataset has more than one:
  the answer is for the current version, and an append since the run names other rows."""

from __future__ import annotations

import json

from datagen.contract.configfile import option_mapping
from datagen.contract.errors import ConfigError
from datagen.reader.options import CONFIG_KEYS, GeneratorOptions, options_from_config


def _show(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    return json.dumps(value, default=str)


_OFF = {"shuffle": "--no-shuffle", "drop_remainder": "--keep-remainder"}   # trace_flags.FLAGS' false spellings


def _flag(key: str, value) -> str:
    """The flag as given: ``--seed 3``, ``--no-shuffle``."""
    if isinstance(value, bool):
        return "--" + key.replace("_", "-") if value else _OFF[key]
    return f"--{key.replace('_', '-')} {_show(value)}"


def override_notes(config: dict, flags: dict, config_file: str | None, options: GeneratorOptions) -> list[str]:
    """One line per flag whose option ``config`` holds with another value (compared as validated options:
    ``--memory-budget 192000000`` does not override ``192MB``). ``options``: the config with the flags."""
    if not config_file:
        return []
    held = option_mapping(config, CONFIG_KEYS, "generator config")
    given = {k: v for k, v in flags.items() if v is not None and k in held}
    if not given:
        return []
    try:   # the config with only the flags it does not hold
        alone = options_from_config(config, **{k: v for k, v in flags.items() if k not in given})
        differs = [k for k in given if getattr(alone, k) != getattr(options, k)]
    except ConfigError:   # the config's own value is invalid: the flag replaces it
        differs = [k for k in given if held[k] != given[k]]
    return [f"{_flag(k, given[k])} overrides {k}: {_show(held[k])} of the config {config_file!r}: the rows "
            "named are those of the run as overridden" for k in sorted(differs)]


def version_note(config: dict, flags: dict, config_file: str | None, number: int) -> list[str]:
    """The note for an unnamed version of a dataset at version ``number`` > 1 (none otherwise)."""
    held = option_mapping(config, CONFIG_KEYS, "generator config")
    if flags.get("version") is not None or held.get("version") is not None or number <= 1:
        return []
    pin = f"add 'version: N' to {config_file!r} or pass --version N" if config_file else "pass --version N"
    return [f"no dataset version named: answered for version {number}, the current one (a run that read an "
            f"earlier version trained on other rows; `datagen log` lists them); {pin} to answer for version N"]
