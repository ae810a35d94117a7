"""Running the split's tasks with Dask: the local threaded scheduler (the
default, sized by ``--memory-limit``) or an existing ``dask.distributed``
cluster (``--scheduler tcp://HOST:PORT``). A progress bar counts finished
tasks when asked for."""

from __future__ import annotations

import functools
import os
import uuid
from concurrent.futures import CancelledError, ThreadPoolExecutor
from typing import Any, Callable, Sequence

import dask
import dask.threaded
from dask.callbacks import Callback

from datagen.contract.errors import SchedulerError


class _Bar:
    def __init__(self, total: int, desc: str, enabled: bool):
        self.bar = None
        if enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="task", leave=False, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.refresh()  # show the final count even if updates were throttled
            self.bar.close()


class _TaskCounter(Callback):
    def __init__(self, bar: _Bar, keys: set):
        super().__init__()
        self._bar, self._keys = bar, keys

    def _posttask(self, key, result, dsk, state, worker_id):
        if key in self._keys:
            self._bar.update()


def with_options(fn, urls, options, *args, pins=None):
    """``fn(*args)`` with ``options`` for ``urls`` and the inputs' ``pins`` (storage_scope) while it runs."""
    from datagen.contract.storage import storage_scope

    with storage_scope(urls, options, pins):  # this task only: a long-lived worker keeps nothing
        return fn(*args)


def run_order_keys(fn: Callable, n: int) -> list[str]:
    """Task keys under which the local threaded scheduler starts ``n`` independent tasks in list order.
    With random keys (``pure=False``) it starts them in an arbitrary order, so a plan's order (the
    biggest reduce tasks first, a source's fingerprint right after its last staged unit) was lost;
    among independent tasks dask.order starts the one whose key sorts last first, hence the
    countdown. Only the order tasks start in depends on it, never a result."""
    run = f"{getattr(fn, '__name__', 'task')}-{uuid.uuid4().hex}"
    return [f"{run}-{n - 1 - i:09d}" for i in range(n)]


class Engine:
    """Maps a function over items on the chosen Dask scheduler."""

    def __init__(self, scheduler: str = "local", workers: int | None = None, progress: bool = False):
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self.progress = progress
        self.client = None
        self.task_options: tuple = ((), {}, {})  # (urls, storage options, input pins) for each task on a cluster
        self._scope = None
        if scheduler != "local":
            from distributed import Client

            try:
                timeout = dask.config.get("datagen.connect-timeout", "10s")
                self.client = Client(scheduler, timeout=timeout, set_as_default=False)
            except Exception as exc:  # OSError, TimeoutError, ValueError for an address dask cannot parse, ...
                detail = " ".join(str(exc).split()) or type(exc).__name__
                raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler!r}: {detail}") from None
            try:
                threads = sum(self.client.nthreads().values())
                if not threads:   # a cluster without workers would hold every task for ever
                    self.client.wait_for_workers(1, timeout=dask.utils.parse_timedelta(timeout))
                    threads = sum(self.client.nthreads().values())
                self.workers = max(1, threads)
            except Exception as exc:
                self.close()
                if isinstance(exc, TimeoutError) or type(exc).__name__ == "TimeoutError":
                    raise SchedulerError(f"the Dask scheduler at {scheduler!r} has no workers (none joined within "
                                         f"{timeout}); start workers with 'dask worker {scheduler}'") from None
                raise SchedulerError(f"the Dask scheduler at {scheduler!r} did not answer: {exc}") from None

    def close(self) -> None:
        if self._scope is not None:
            scope, self._scope = self._scope, None
            scope.__exit__(None, None, None)
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def with_options(self, urls: list, options: dict, sources=()) -> "Engine":
        """Every task run on a cluster's workers applies these storage options for these URLs first, and
        reads each remote input of ``sources`` as listed (its ETag/VersionId, datagen.contract.pinned);
        in this process the pins hold until close()."""
        from datagen.contract.storage import storage_scope

        pins = {s.url: (s.etag, s.version, s.bytes) for s in sources if "://" in s.url and s.etag}
        self.task_options = (list(urls), dict(options or {}), pins)
        if self._scope is None and pins:
            self._scope = storage_scope([], {}, pins)
            self._scope.__enter__()
        return self

    def map(self, fn: Callable, items: Sequence, *args: Any, desc: str = "") -> list:
        """``[fn(item, *args) for item in items]``, run by Dask, in order."""
        urls, options, pins = self.task_options
        # on a cluster, even with no options: the task's URLs get the environment's defaults. Locally, a
        # task thread of a run with bucket URLs holds that run's options and pins: without them it saw
        # those of every run in progress in the process, and two runs reading one URL through two
        # endpoints crossed (storage.options_for)
        if self.client is not None or pins or any("://" in str(u) for u in urls):
            fn = functools.partial(with_options, fn, urls, options, pins=pins)
        bar = _Bar(len(items), desc, self.progress)
        try:
            if self.client is not None:
                return self._map_distributed(fn, items, args, bar)
            # the arguments ride in a partial: dask would walk every list, tuple and dataclass in them
            # looking for dask objects (0.27 s of the driver's time for a 20M-row split's group jobs)
            tasks = [dask.delayed(functools.partial(fn, item, *args), pure=False)(dask_key_name=key)
                     for item, key in zip(items, run_order_keys(fn, len(items)))]
            keys = {t.key for t in tasks}
            # our own pool, so that after a failure we wait for the tasks still running
            # before anyone cleans up the files they write
            pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="split")
            try:
                with _TaskCounter(bar, keys):
                    # the threaded scheduler as a function: dask.compute imports dask.distributed (~0.5 s) to
                    # resolve a scheduler given by name
                    return list(dask.compute(*tasks, scheduler=dask.threaded.get, pool=pool, num_workers=self.workers))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            bar.close()

    def _map_distributed(self, fn, items, args, bar) -> list:
        from distributed import as_completed

        name = _task_name(fn)  # task keys named after the task, not the with_options wrapper
        futures = [self.client.submit(fn, item, *args, key=f"{name}-{uuid.uuid4().hex}") for item in items]
        try:
            try:
                for fut in as_completed(futures, loop=self.client.loop):
                    if fut.status == "error":
                        fut.result()  # raises the task's own exception
                    bar.update()
                return self.client.gather(futures)
            except CancelledError as exc:   # the client lost the scheduler (it cancels every future)
                reason = getattr(exc, "reason", None) or "cancelled"
                raise SchedulerError(f"lost the Dask scheduler at {self.scheduler!r} during the split ({reason}); "
                                     "nothing was committed: rerun when the cluster is back") from None
        except BaseException:
            from distributed import wait

            keys = [f.key for f in futures if f.status == "pending"]
            self.client.cancel([f for f in futures if f.status == "pending"])
            with self.client.as_current():  # not the default client (set_as_default=False): wait() needs it
                wait([f for f in futures if f.status == "pending"], timeout=60)
            _wait_workers_idle(self.client, keys)  # a cancelled task already running goes on: let it end
            raise


def _task_name(fn) -> str:
    from dask.utils import funcname

    while isinstance(fn, functools.partial):
        wrapped = fn.func.__name__ in ("with_options", "_with_options") and fn.args
        fn = fn.args[0] if wrapped else fn.func
    return funcname(fn)


def _running(keys, dask_worker=None) -> int:
    """How many of ``keys`` a worker is still running (a cancelled task's thread runs to its end)."""
    tasks = dask_worker.state.tasks
    return sum(1 for k in keys if k in tasks and tasks[k].state in ("executing", "long-running", "cancelled",
                                                                      "resumed"))


def _wait_workers_idle(client, keys, timeout: float = 120.0) -> None:
    """After an error or an interrupt: wait until no worker runs any of ``keys`` any more, so the
    caller's cleanup comes after the last upload of those tasks (best effort: a lost scheduler or
    worker cannot be asked, and the next run on that --out removes what they left)."""
    import time

    if not keys:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            busy = client.run(_running, keys, on_error="return")
        except Exception:
            return
        if not any(isinstance(n, int) and n for n in busy.values()):
            return
        time.sleep(0.1)
