"""Which batches of the epoch plan a generator serves: its replica's share, then the resume offset.

Batch numbers, three kinds:

* plan batch: ``EpochPlan``'s index, 0..N-1 (the single-replica epoch);
* replica batch: 0..``per_replica``-1, the uninterrupted epoch of this replica; this is what
  ``gen.provenance(batch, epoch)``, ``gen.state()["step"]`` and ``datagen provenance --step`` use;
* Keras index: what ``gen[i]`` receives; after ``gen.restore`` at step k it is replica batch ``k + i``.

Shares are contiguous blocks, not interleaved (batch i -> replica i % R): batches are consecutive
slices of the epoch's windows (plan.py), so a block of N/R batches touches about W/R + 1 of the W
decoded windows, while interleaving makes every replica decode every window to use 1/R of it.
Tail (N not a multiple of R): ``pad`` gives every replica ceil(N/R) batches, the last block wrapping
round to the epoch's first batches (no row is left out; fewer than R batches are served twice when
N >= R, while R > N repeats whole rounds of the epoch);
``drop`` gives every replica floor(N/R) batches and leaves out the last N mod R plan batches.
"""

from __future__ import annotations

from datagen.contract.errors import ConfigError


class EpochView:
    def __init__(self, plan_batches: int, num_replicas: int = 1, replica: int = 0, tail: str = "pad"):
        self.plan_batches = plan_batches
        self.num_replicas = num_replicas
        self.replica = replica
        self.tail = tail
        if tail == "drop":
            self.per_replica = plan_batches // num_replicas
            if self.per_replica == 0:
                raise ConfigError(f"num_replicas={num_replicas} with replica_tail='drop' leaves no batch for a "
                                  f"replica: an epoch has only {plan_batches} batches; use fewer replicas, a "
                                  "smaller batch_size or replica_tail='pad'")
        else:
            self.per_replica = -(-plan_batches // num_replicas)

    @property
    def dropped(self) -> int:
        """Plan batches no replica serves (only with ``drop``)."""
        return self.plan_batches - self.per_replica * self.num_replicas if self.tail == "drop" else 0

    def plan_batch(self, batch: int) -> int:
        """The plan batch behind replica batch ``batch`` (0 <= batch < per_replica)."""
        if not 0 <= batch < self.per_replica:
            raise IndexError(f"batch {batch} out of range: this generator serves {self.per_replica} batches per "
                             f"epoch (valid 0..{self.per_replica - 1})")
        return (self.replica * self.per_replica + batch) % self.plan_batches

    def plan_batches_of_epoch(self) -> list[int]:
        return [self.plan_batch(b) for b in range(self.per_replica)]
