"""Core-utilisation timeline of one run (``bench_split.py --timeline``): a side thread samples the
process's CPU time (all threads) and its threads' states every ``STEP`` seconds; ``Engine.map`` calls
(by their ``desc``), the conservation check and the publish step are marked (start and end). ``summary`` prints, per stretch between marks, wall seconds, CPU
seconds, mean busy cores, mean threads running or runnable (R) and in disk wait (D), the *idle
core-seconds* (cores x wall - CPU, which the machine's other load also makes) and the *unasked
core-seconds* (when fewer threads of the run were in R or D than there are cores: the run's own serial
stretches, whatever the load), then the longest such stretches.
Benchmark-only instrumentation: nothing in splitters/ imports it."""

from __future__ import annotations

import os
import threading
import time

STEP = 0.025


class Timeline:
    def __init__(self, step: float = STEP):
        self.step = step
        self.samples: list[tuple[float, float]] = []   # (wall, process CPU)
        self.states: list[tuple[int, int]] = []        # per sample: threads running (R), in disk wait (D)
        self.marks: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timeline", daemon=True)
        self.t0 = time.perf_counter()

    def _run(self) -> None:
        me = threading.get_native_id()
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), time.process_time()))
            self.states.append(_thread_states(me))
            self._stop.wait(self.step)

    def start(self) -> "Timeline":
        self.mark("start")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.mark("end")
        self._stop.set()
        self._thread.join()
        self.samples.append((time.perf_counter(), time.process_time()))
        self.states.append(_thread_states(threading.get_native_id()))

    def mark(self, what: str) -> None:
        self.marks.append((time.perf_counter(), what))

    def watch_engine(self) -> None:
        """Mark the start and end of every ``Engine.map`` (by its desc)."""
        from splitters.engine import Engine

        original = Engine.map
        timeline = self

        def map(self, fn, items, *args, desc: str = ""):
            timeline.mark(f"{desc or 'map'} start ({len(items)} tasks)")
            try:
                return original(self, fn, items, *args, desc=desc)
            finally:
                timeline.mark(f"{desc or 'map'} end")
        Engine.map = map

    def watch_split(self) -> None:
        """Mark the start and end of the split's conservation check and its publish step."""
        from splitters import split

        for name in ("check_conservation", "publish"):
            setattr(split, name, self._marked(getattr(split, name), name))

    def _marked(self, fn, name: str):
        def marked(*args, **kwargs):
            self.mark(f"{name} start")
            try:
                return fn(*args, **kwargs)
            finally:
                self.mark(f"{name} end")
        return marked

    def summary(self, cores: int | None = None, min_gap: float = 0.1) -> str:
        cores = cores or os.cpu_count() or 1
        lines = [f"timeline ({cores} cores, sampled every {self.step * 1000:.0f} ms; t from the first mark; "
                 "run = threads running or runnable, D = in disk wait, idle = cores x wall - CPU, unasked = "
                 "core-seconds no thread of the run was running, runnable or in disk wait for):",
                 f"  {'from':>6s} {'to':>6s} {'wall s':>7s} {'CPU s':>7s} {'busy':>5s} {'run':>5s} {'D':>5s} "
                 f"{'idle core-s':>11s} {'unasked core-s':>13s}  stretch"]
        bounds = sorted(self.marks)
        total_idle = total_unasked = 0.0
        for (a, name), (b, _) in zip(bounds, bounds[1:]):
            cpu = self._cpu_at(b) - self._cpu_at(a)
            idle = max(0.0, cores * (b - a) - cpu)
            total_idle += idle
            run, disk, unasked = self._states_between(a, b, cores)
            total_unasked += unasked
            if b - a >= 0.005:
                lines.append(f"  {a - self.t0:6.2f} {b - self.t0:6.2f} {b - a:7.2f} {cpu:7.2f} "
                             f"{cpu / (b - a):5.2f} {run:5.2f} {disk:5.2f} {idle:11.2f} {unasked:13.2f}  after {name}")
        lines.append(f"  in all: {total_idle:.2f} idle core-s, {total_unasked:.2f} unasked core-s "
                     f"(wall {bounds[-1][0] - bounds[0][0]:.2f} s)")
        # runs of samples where fewer than `cores` threads want a core: the split itself leaves one idle
        runs, cur = [], None
        for i in range(1, len(self.samples)):
            (w0, c0), (w1, c1) = self.samples[i - 1], self.samples[i]
            if sum(self.states[i - 1]) < cores and sum(self.states[i]) < cores:
                cur = [w0, w1, c1 - c0] if cur is None else [cur[0], w1, cur[2] + c1 - c0]
            elif cur is not None:
                runs.append(cur)
                cur = None
        if cur is not None:
            runs.append(cur)
        short = sum(cores * (r[1] - r[0]) - r[2] for r in runs if r[1] - r[0] < min_gap)
        runs = [r for r in runs if r[1] - r[0] >= min_gap]
        lines.append(f"  stretches of >= {min_gap:.1f} s with fewer than {cores} threads running, runnable or in disk wait "
                     f"({sum(cores * (r[1] - r[0]) - r[2] for r in runs):.2f} idle core-s in all; shorter ones: "
                     f"{short:.2f}):")
        for w0, w1, cpu in sorted(runs, key=lambda r: r[0] - r[1])[:15]:
            lines.append(f"    {w0 - self.t0:6.2f}-{w1 - self.t0:6.2f} s: {w1 - w0:5.2f} s, {cpu / (w1 - w0):4.2f} busy, "
                         f"{cores * (w1 - w0) - cpu:5.2f} idle core-s, {self._where(w0)}")
        return "\n".join(lines)

    def _states_between(self, a: float, b: float, cores: int) -> tuple[float, float, float]:
        """(mean threads running or runnable, mean in disk wait, core-seconds none of them asked for) from a to b."""
        picked = [s for (w, _), s in zip(self.samples, self.states) if a <= w < b]
        if not picked:
            return 0.0, 0.0, 0.0
        unasked = sum(max(0, cores - r - d) for r, d in picked) / len(picked) * (b - a)
        return sum(r for r, _ in picked) / len(picked), sum(d for _, d in picked) / len(picked), unasked

    def _cpu_at(self, t: float) -> float:
        prev = self.samples[0] if self.samples else (t, 0.0)
        for w, c in self.samples:
            if w >= t:
                if w == prev[0]:
                    return c
                return prev[1] + (c - prev[1]) * (t - prev[0]) / (w - prev[0])
            prev = (w, c)
        return prev[1]

    def _where(self, t: float) -> str:
        last = "start"
        for w, name in sorted(self.marks):
            if w > t:
                break
            last = name
        return f"after {last}"


def _thread_states(me: int) -> tuple[int, int]:
    """(threads of this process running or runnable, threads in uninterruptible (disk) wait), the
    sampler itself left out: demand for cores, whether or not the machine's other load lets them run."""
    running = waiting = 0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        running += state == b"R"
        waiting += state == b"D"
    return running, waiting
