"""``BatchSource``: the Keras-free core of the generator, a short coordinator.

Built once from ``GeneratorOptions``: it reads the manifest (and its sha256), checks the
options against it (option_checks.py), selects shards with ``where`` (selection.py), checks
the selected shards (shards.py), sizes windows from the memory budget (budget.py) and plans
epochs (plan.py). A batch is then slices of decoded windows (windows.py caches and
prefetches them, decode.py decodes them) assembled into the Keras tuple (assemble.py);
its provenance comes from the lineage columns (provenance.py). ``DataGenerator`` wraps it
for Keras; ``datagen provenance`` uses it directly. It pickles for worker processes, and
its locks, caches and pools are rebuilt per process (forksafe.py).
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from datagen.contract import validate
from datagen.contract.errors import DatagenError, ManifestError, with_context
from datagen.contract.manifest import manifest_path
from .assemble import apply_transform, batch_tuple, gather
from .budget import check_not_empty, decoded_row_bytes, window_rows
from .decode import WindowDecoder
from .phases import PhaseStats, lap, start
from .option_checks import (check_columns, check_footer_stats, check_labels, checked_group_values,
                            warn_inexact)
from .options import GeneratorOptions
from datagen.contract.format import is_text
from .plan import EpochPlan, check_batch_index, check_epoch
from .provenance import provenance_table
from .resident import ResidentRows, fits
from .selection import row_group_units, select_shards
from .shards import ShardAccess
from .store import DatasetStore, Storage
from .windows import WindowCache


class BatchSource:
    stats = None   # a PhaseStats while timing (phase_stats())
    follow = None  # a nextepoch.Follow while model.fit has another epoch to run (set by fitsync.py)

    def __init__(self, options: GeneratorOptions, transform: Callable | None = None, storage: Storage | None = None):
        self.options = o = options
        self.transform = validate.callable_or_none(transform, "transform")
        # one read: parsed + hashed; an older version is replayed from its records (contract/versions.py)
        self.store = DatasetStore(o.directory, storage, o.version)  # local dir, or a URL read through a shard cache
        self.directory = self.store.directory
        self.manifest, self.manifest_sha256 = self.store.manifest, self.store.manifest_sha256
        if o.manifest_sha256 and o.manifest_sha256 != self.manifest_sha256:
            raise ManifestError(f"{str(manifest_path(self.directory))!r} changed since this generator config was "
                                "made (manifest_sha256 differs); the batches would not be the same")
        m = self.manifest
        types = {**m.column_types, **m.group_types}
        check_columns(types, o)
        self.selected = select_shards(m, o.where, self.directory)
        used = [c for c in dict.fromkeys(o.feature_columns + [o.label, o.sample_weight])
                if c and c not in m.group_names]
        self.shards = ShardAccess(self.directory, m, self.selected, o.verify, used,
                                  [c for c in used if is_text(types[c])], self.store.checker(m, self.selected))
        group_values = checked_group_values(m, self.selected, types, o)
        check_labels(m, self.selected, group_values, o)
        check_footer_stats(m, group_values, self.shards.stats, o)
        warn_inexact(types, set(m.group_names), group_values, o, self.shards.stats)
        units = row_group_units(m, self.selected, o.where)
        self.decoded_row_bytes = decoded_row_bytes(types, o, self.shards.stats, group_values)
        self.plan = EpochPlan(units, o.batch_size, o.drop_remainder, o.shuffle, o.seed,
                              window_rows(o, self.decoded_row_bytes, units))
        check_not_empty(self.plan)
        self.decoder = WindowDecoder(o, m, types, group_values, self.shards)
        worst = decoded_row_bytes(types, o, self.shards.stats, group_values, text_factor=4)  # any text
        resident = ResidentRows(self.plan, self.decoder) if fits(self.plan.total_rows, worst, o.memory_budget) else None
        self.windows = WindowCache(self.plan, self.decoder, resident)

    def __len__(self) -> int:
        return self.plan.num_batches

    @property
    def num_rows(self) -> int:
        return self.plan.total_rows

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.options.to_config(self.manifest.group_types)
        cfg["directory"] = self.store.location
        cfg["manifest_sha256"] = self.manifest_sha256
        cfg["version"] = self.manifest.number
        return cfg

    def _own_process(self) -> None:
        for part in (self.shards, self.decoder, self.windows):
            part.own_process()

    def batch(self, index: int, epoch: int = 0):
        """The batch ``index`` of ``epoch``: a pure function of manifest, options, seed, epoch and index."""
        self._own_process()
        stats = self.stats
        t0 = t = start(stats)
        segments = self.plan.segments(check_epoch(epoch), check_batch_index(index))
        try:
            parts = []
            for window, lo, hi in segments:
                parts.append((self.windows.get(epoch, window), lo, hi))
            self.windows.prefetch(epoch, window)
            self._warm_next(epoch, index, index + 1)
        except DatagenError as exc:
            raise with_context(exc, f"batch {index} of epoch {epoch}") from None
        t = lap(stats, "wait", t)
        cols = gather(parts)
        t = lap(stats, "gather", t)
        out = apply_transform(self.transform, batch_tuple(cols, self.options), index, epoch)
        lap(stats, "assemble", t)
        lap(stats, "batch", t0)
        return out

    def batch_run(self, first: int, stop: int, epoch: int = 0) -> tuple:
        """Batches ``first..stop-1`` of ``epoch`` as one Keras tuple of their rows in order (its arrays
        are those of the batches, concatenated): one gather per window instead of one per batch.
        Without a transform (``as_tf_dataset`` refuses one)."""
        self._own_process()
        stats = self.stats
        t0 = start(stats)
        merged: list = []
        try:
            for index in range(first, stop):
                for window, lo, hi in self.plan.segments(check_epoch(epoch), index):
                    if merged and merged[-1][0].index == window.index and merged[-1][2] == lo:
                        merged[-1][2] = hi
                    else:
                        merged.append([window, lo, hi])
            parts = [(self.windows.get(epoch, w), lo, hi) for w, lo, hi in merged]
            self.windows.prefetch(epoch, merged[-1][0])
            self._warm_next(epoch, first, stop)
        except DatagenError as exc:
            raise with_context(exc, f"batches {first}..{stop - 1} of epoch {epoch}") from None
        t = lap(stats, "wait", t0)
        out = batch_tuple(gather(parts), self.options)
        lap(stats, "gather", t)
        lap(stats, "batch", t0)
        return out

    def _warm_next(self, epoch: int, first: int, stop: int) -> None:
        """In this epoch's last window, decode the next epoch's first window in the background (nextepoch.py)."""
        f = self.follow
        if f is not None and f.due(epoch, first, stop):
            self.windows.warm(f.next_epoch, self.plan.segments(f.next_epoch, f.next_first)[0][0])

    def phase_stats(self) -> PhaseStats:
        """Turn on the per-phase timers (phases.py) of this generator and return them (benchmarks)."""
        if self.stats is None:
            self.stats = self.decoder.stats = self.windows.stats = PhaseStats()
            if self.windows.resident is not None:
                self.windows.resident.stats = self.stats
        return self.stats

    def provenance(self, index: int, epoch: int = 0) -> pd.DataFrame:
        """One row per example of batch ``index`` of ``epoch``, in batch order."""
        self._own_process()
        return provenance_table(self.manifest, self.plan, self.shards, check_batch_index(index), epoch)
