"""When one task of a cluster map fails (or the client is interrupted), Engine.map returns only after
every task already running on a worker has ended: a cancelled task's thread runs on, and the caller's
cleanup (deleting a failed split's uploads) must come after its last upload (dask LocalCluster)."""

import sys

import cloudpickle
import pytest

from splitters.engine import Engine


def _task(item, folder):
    import os
    import time

    if item == 0:
        raise ValueError("task 0 fails at once")
    open(os.path.join(folder, f"start-{item}"), "w").close()
    time.sleep(1.5)  # still running when task 0's failure reaches the client
    open(os.path.join(folder, f"end-{item}"), "w").close()
    return item


def test_a_failed_map_waits_for_the_tasks_still_running(cluster, tmp_path):
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with Engine(cluster.scheduler_address) as engine:
            with pytest.raises(ValueError, match="task 0"):
                engine.map(_task, list(range(6)), str(tmp_path))
            started = {p.name.split("-")[1] for p in tmp_path.glob("start-*")}
            ended = {p.name.split("-")[1] for p in tmp_path.glob("end-*")}
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert started and started == ended  # no task of the map still running when it returned
