"""Mid-epoch resume: the generator's position as a small JSON state, its checks, and the checkpoint callback.

``gen.state()`` is ``{"epoch", "step", ...}``: ``step`` replica batches of ``epoch`` finished training
(as ``on_train_batch_end`` saw them). ``gen.restore(state)`` accepts it only for the same dataset
(manifest version when the manifest has one, else its sha256), seed and batch-determining options
(the generator config); the first difference is named in one line.

``write_state`` writes it atomically (``atomic_write_text``: temporary file, fsync, rename); the callback
that calls it when ``BackupAndRestore`` saves weights (``StateCheckpoint``) is in fitcallback.py, so
reading and checking a state (``datagen provenance --state``) needs no Keras.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from datagen.contract.errors import ConfigError, OutputError
from datagen.contract.atomicwrite import sweep_stale_temporaries
from datagen.contract.manifest import atomic_write_text

STATE_FORMAT = "datagen-state/1"
# Keras 3.15 warns this when an epoch's data ends before len() steps: a resumed epoch does so on purpose
NOT_OPTIONS = {"directory", "manifest_sha256", "version"}
# options that change how batches are checked or delivered, not which rows they hold: a state saved
# under another value resumes the same batches (still part of config_sha256, which detects edits)
SAME_BATCHES = {"verify"}
KERAS_SHORT_EPOCH = "Your input ran out of data; interrupting training"


def config_sha256(config: dict) -> str:
    """The hash of the options that determine the batches (the dataset's identity is checked on its own, and a
    moved dataset is the same dataset)."""
    body = {k: v for k, v in config.items() if k not in NOT_OPTIONS}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def make_state(gen, epoch: int, step: int) -> dict[str, Any]:
    per = gen.view.per_replica
    if step >= per:  # an epoch whose every batch trained: the position is the next epoch's start
        epoch, step = epoch + 1, 0
    config = gen.config
    return {"format": STATE_FORMAT, "epoch": epoch, "step": step, "batches_per_epoch": per,
            "seed": config["seed"], "replica": config["replica"], "num_replicas": config["num_replicas"],
            "manifest_sha256": gen.source.manifest_sha256,
            "manifest_version": getattr(gen.source.manifest, "version", None),  # hook: versioned manifests
            "config_sha256": config_sha256(config), "config": config}


def read_state(state) -> dict:
    """A state dict, or the JSON file ``gen.checkpoint`` wrote."""
    if isinstance(state, (str, os.PathLike)):
        try:
            with open(state, encoding="utf-8") as f:
                state = json.load(f)
        except OSError as exc:
            raise ConfigError(f"state file {os.fspath(state)!r}: cannot read it ({exc.strerror or exc})") from None
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"state file {os.fspath(state)!r} is not JSON "
                              f"({str(exc) or type(exc).__name__}); expected a file written by gen.checkpoint(...)"
                              ) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ConfigError(f"state: expected gen.state() (format {STATE_FORMAT!r}), got {got!r}")
    for key in ("epoch", "step"):
        v = state.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"state[{key!r}]: expected a non-negative integer, got {v!r}")
    return state


def check_own(state: dict) -> None:
    """The state agrees with itself (its config hashes to its config_sha256; its top-level copies equal
    its config's); else one line naming the field. (_check_batches: its batches per epoch are the generator's.)"""
    config = state.get("config")
    if not isinstance(config, dict) or state.get("config_sha256") != config_sha256(config):
        raise ConfigError("state['config_sha256'] is not the hash of state['config'] (the state was edited); "
                          "restore from a state gen.state()/gen.checkpoint wrote")
    pairs = [("seed", "seed"), ("replica", "replica"), ("num_replicas", "num_replicas"),
             ("manifest_sha256", "manifest_sha256")]
    for top, key in pairs:
        if key in config and state.get(top) != config[key]:
            raise ConfigError(f"state[{top!r}]={state.get(top)!r} but its config has {key}={config[key]!r} (the state "
                              "was edited); restore from a state gen.state()/gen.checkpoint wrote")


def _check_batches(state: dict, mine: dict) -> None:
    if state.get("batches_per_epoch") != mine["batches_per_epoch"]:
        raise ConfigError(f"state['batches_per_epoch']={state.get('batches_per_epoch')!r} but this generator has "
                          f"{mine['batches_per_epoch']} batches per epoch with the state's config (the state was "
                          "edited); restore from a state gen.state()/gen.checkpoint wrote")


def _batch_options(config: dict) -> str:
    return config_sha256({k: v for k, v in config.items() if k not in SAME_BATCHES})


def check_state(gen, state: dict) -> tuple[int, int]:
    """(epoch, step) of ``state`` if it belongs to ``gen``; else one line naming the first difference."""
    mine = make_state(gen, 0, 0)
    check_own(state)
    versioned = None not in (state.get("manifest_version"), mine["manifest_version"])
    if versioned and state["manifest_version"] != mine["manifest_version"]:
        raise ConfigError(f"state is from dataset version {state['manifest_version']!r}, this generator reads version "
                          f"{mine['manifest_version']!r}; open the version the run trained on")
    if state.get("manifest_sha256") != mine["manifest_sha256"]:  # a version number alone names no dataset
        raise ConfigError(f"state is from another dataset: manifest sha256 {str(state.get('manifest_sha256'))[:12]}... "
                          f"!= {mine['manifest_sha256'][:12]}... of {gen.source.directory}; resume on the dataset "
                          "the run trained on")
    if state.get("seed") != mine["seed"]:
        raise ConfigError(f"state was saved with seed={state.get('seed')!r}, this generator has seed={mine['seed']!r}; "
                          "restore with the same seed")
    theirs = state["config"]
    if _batch_options(theirs) != _batch_options(mine["config"]):
        for key in sorted((set(theirs) | set(mine["config"])) - NOT_OPTIONS - SAME_BATCHES):
            if theirs.get(key) != mine["config"].get(key):
                raise ConfigError(f"state was saved with {key}={theirs.get(key)!r}, this generator has "
                                  f"{key}={mine['config'].get(key)!r}; restore with the same options")
        raise ConfigError("state: its config_sha256 does not match this generator's config; "
                          "restore with the options the run used")
    _check_batches(state, mine)
    epoch, step = state["epoch"], state["step"]
    if step > mine["batches_per_epoch"]:
        raise ConfigError(f"state['step']={step} exceeds the {mine['batches_per_epoch']} batches of an epoch")
    if step == mine["batches_per_epoch"]:
        epoch, step = epoch + 1, 0
    return epoch, step


def write_state(path: str, state: dict) -> None:
    """Atomically and durably (the manifest's write rule): a reader (or a kill) sees the old file or the
    new one, never half of one."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write_text(path, json.dumps(state, indent=1), durable=True)
        sweep_stale_temporaries(Path(path))  # what a kill during an earlier save left beside it
    except OSError as exc:
        raise OutputError(f"cannot write the generator state to {path!r}: {exc.strerror or exc}") from None




def check_save_freq(save_freq) -> int | str:
    if save_freq == "epoch" or (isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq >= 1):
        return save_freq
    raise ConfigError(f"save_freq: expected 'epoch' or a positive integer (as BackupAndRestore), got {save_freq!r}")


def check_state_path(path) -> str:
    """A path ``write_state`` can write, checked when the callback is made rather than at the first save,
    hours into training: not a directory, and its nearest existing ancestor is a directory."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ConfigError(f"checkpoint path: expected a file path, got {path!r}")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ConfigError(f"checkpoint path {path!r} is a directory; give a file path such as "
                          f"{os.path.join(path, 'datagen_state.json')!r}")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ConfigError(f"checkpoint path {path!r}: {parent!r} is not a directory")
    folder = os.path.dirname(os.path.abspath(path))
    try:   # made and tried now: a directory that cannot be made or written would fail at the first save
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise ConfigError(f"checkpoint path {path!r}: cannot write in {folder!r} "
                          f"({exc.strerror or exc}); choose a writable directory") from None
    return os.path.abspath(path)   # a later os.chdir changes nothing
