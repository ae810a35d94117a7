"""The output directory's lock; it lives in the contract (datagen/contract/outlock.py) because
``datagen vacuum`` takes the same lock as a split."""

from datagen.contract.outlock import LOCK_NAME, OutLock  # noqa: F401
