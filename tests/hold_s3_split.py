"""Run ``split-datasets`` (command-line arguments) held at its first shard upload, for the tests of two
splits sharing one staging location: it creates ``$HOLD_DIR/held`` (every staged file is written by
then) and waits until ``$HOLD_DIR/go`` exists, then goes on. Nothing is faked: the split is real."""

import os
import time

import splitters.remote_split as remote_split

_real_upload = remote_split.upload_shard
_held = False


def upload_shard(*args, **kwargs):
    global _held
    if not _held:
        _held = True
        hold = os.environ["HOLD_DIR"]
        open(os.path.join(hold, "held"), "w").close()
        while not os.path.exists(os.path.join(hold, "go")):
            time.sleep(0.05)
    return _real_upload(*args, **kwargs)


remote_split.upload_shard = upload_shard

if __name__ == "__main__":
    import sys

    from splitters.cli import main

    sys.exit(main())
