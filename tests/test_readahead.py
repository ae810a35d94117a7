"""The stage step asks the kernel to read the next local source ahead (splitters/readahead.py): which
source is next, for every work item, against a plain reference; the wrapped task asks for exactly
that one, once, from a thread of its own, and returns the task's own result;
a real split asks for every source but the first."""

import threading
import time
from dataclasses import dataclass

from hypothesis import assume, given, settings, strategies as st

from splitters import readahead


@dataclass(frozen=True)
class Unit:
    index: int
    url: str


def _work(plan):
    work = []
    for i, (kind, name) in enumerate(plan):
        url = name if name.startswith("s3://") else f"/data/{name}"
        work.append(("sha256", url) if kind == "sha256" else (kind, Unit(i, url)))
    return work


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(["stage", "stage+sha256", "sha256"]),
                          st.sampled_from(["a", "b", "c", "s3://x/d"])), max_size=12))
def test_property_next_source_is_the_first_other_local_one_after_the_item(plan):
    fingerprinted = [name for kind, name in plan if kind == "sha256"]
    assume(len(fingerprinted) == len(set(fingerprinted)))   # a plan fingerprints a source once
    work = _work(plan)
    ahead = readahead.next_sources(work)
    urls = [w[1] if w[0] == "sha256" else w[1].url for w in work]
    for i, item in enumerate(work):
        want = None
        for u in urls[i + 1:]:
            if "://" not in u and u != urls[i]:
                want = u
                break
        assert ahead[readahead._key(item)] == want


def test_a_task_asks_for_the_next_source_once_from_another_thread(monkeypatch):
    asked, done = [], threading.Event()

    def advise(path):
        asked.append((path, threading.get_ident()))
        done.set()

    monkeypatch.setattr(readahead, "advise", advise)
    work = _work([("stage", "a"), ("stage", "a"), ("sha256", "a"), ("stage", "b")])
    with readahead.reading_ahead(lambda item, ctx: (item, ctx), work) as run:
        assert [run(item, "ctx") for item in work] == [(item, "ctx") for item in work]
        assert done.wait(10)
        time.sleep(0.2)   # a second request, were there one, would have run by now
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("datagen-read-ahead")]   # ended with the block
    assert [path for path, _ in asked] == ["/data/b"]   # once per source, not once per task
    assert asked[0][1] != threading.get_ident()   # not in the task's thread


def test_a_split_reads_each_later_source_ahead(sample_parquet, tmp_path, monkeypatch):
    from splitters.config import SplitConfig
    from splitters.split import run_split

    asked = []
    real = readahead.advise
    monkeypatch.setattr(readahead, "advise", lambda path: asked.append(path) or real(path))
    run_split(SplitConfig(inputs=[str(sample_parquet)], out=str(tmp_path / "o"), time_column="event_time",
                          group_by=["month"], progress=False, workers=1))
    files = sorted(str(p) for p in sample_parquet.glob("*.parquet"))
    deadline = time.monotonic() + 10
    while len(set(asked)) < len(files) - 1 and time.monotonic() < deadline:   # asked in the background
        time.sleep(0.05)
    assert sorted(set(asked)) == files[1:] and real(files[0]) is True
