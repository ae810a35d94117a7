"""Run ``split-datasets`` (command-line arguments) with a real SIGKILL at a chosen point of an
object-store split, for the kill-and-rerun tests:

  FAULT_KILL_AT_UPLOAD=N   SIGKILL this process just before its Nth shard upload
  FAULT_KILL_AT_COMMIT=1   SIGKILL it just before the manifest PUT (every shard uploaded)

Nothing is faked: the uploads before the kill are real PUTs to the server the environment names.
"""

import os
import signal
import threading

import splitters.remote_out as remote_out
import splitters.remote_split as remote_split

_lock = threading.Lock()
_count = 0
_at = int(os.environ.get("FAULT_KILL_AT_UPLOAD", "0"))
_real_upload = remote_split.upload_shard
_real_commit = remote_out.RemoteOut.commit


def upload_shard(*args, **kwargs):
    global _count
    with _lock:
        _count += 1
        if _count == _at:
            os.kill(os.getpid(), signal.SIGKILL)
    return _real_upload(*args, **kwargs)


def commit(self, *args, **kwargs):
    if os.environ.get("FAULT_KILL_AT_COMMIT"):
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_commit(self, *args, **kwargs)


remote_split.upload_shard = upload_shard
remote_out.RemoteOut.commit = commit

if __name__ == "__main__":
    import sys

    from splitters.cli import main

    sys.exit(main())
