"""The next epoch's first window, decoded in the background while this epoch's last window is served.

Within an epoch the window cache (windows.py) decodes the window after the one in use, so batches
never wait; without this module the first window of every epoch was still decoded while ``model.fit``
waited (about 0.1-0.3 s per epoch on two cores). ``model.fit`` tells the generator how many epochs it
runs (``gen.callback``: fitsync.py), so when another epoch follows, ``Follow`` names the plan batches
of this epoch's last window and the first batch of the next epoch: serving one of those batches
starts the background decode of that batch's window (``WindowCache.warm``). Batches do not change:
a window is a pure function of (manifest, options, seed, epoch); only when it is decoded moves.
Without the callback, or in fit's last epoch, nothing is decoded ahead (no decode is wasted).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Follow:
    epoch: int         # the epoch being served
    lo: int            # plan batches lo..hi (inclusive) of ``epoch`` lie in its last window used
    hi: int
    next_epoch: int
    next_first: int    # the first plan batch the next epoch serves

    def due(self, epoch: int, first: int, stop: int) -> bool:
        """Whether serving plan batches ``first..stop-1`` of ``epoch`` should start the decode."""
        return epoch == self.epoch and first <= self.hi and stop > self.lo


def follow(plan, view, epoch: int, next_epoch: int) -> Follow:
    """``Follow`` for a replica (``view``, epochview.py) serving ``epoch`` then ``next_epoch``."""
    last = view.plan_batch(view.per_replica - 1)
    window = plan.segments(epoch, last)[-1][0]
    return Follow(epoch, window.start // plan.batch_size, last, next_epoch, view.plan_batch(0))
