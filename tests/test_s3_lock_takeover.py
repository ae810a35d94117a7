"""A stale split lock in a bucket (its pid is gone, same host) is taken over in one conditional PUT
(If-Match on the stale lock's ETag): of several runs taking it over at once, exactly one holds it
(moto S3 on 127.0.0.1; threads racing on one lock object)."""

import json
import socket
import threading

import s3fs

from datagen.contract.errors import OutputError
from splitters.remote_out import RemoteOut


def _dead_lock(fs, key):
    fs.pipe_file(key, json.dumps({"lock": "datagen split lock", "host": socket.gethostname(), "pid": 2 ** 22 + 7,
                                  "token": "dead"}).encode())


def test_racing_takeovers_of_a_stale_lock_leave_one_holder(s3_bucket):
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    rounds, racers = 25, 4
    for i in range(rounds):
        url = f"s3://{s3_bucket}/race/{i}"
        _dead_lock(fs, f"{s3_bucket}/race/{i}/.datagen.lock")
        outs = [RemoteOut(url) for _ in range(racers)]
        start, results = threading.Barrier(racers), [None] * racers

        def take(k):
            start.wait()
            try:
                outs[k].acquire()
                results[k] = "held"
            except OutputError as exc:
                results[k] = str(exc)
        threads = [threading.Thread(target=take, args=(k,)) for k in range(racers)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert results.count("held") == 1, (i, results)
        assert all("another split is writing" in r for r in results if r != "held")
        holder = outs[results.index("held")]
        assert json.loads(fs.cat_file(f"{s3_bucket}/race/{i}/.datagen.lock"))["token"] == holder._token
        for out in outs:
            assert out.release() is None
        assert not fs.exists(f"{s3_bucket}/race/{i}/.datagen.lock")


def test_a_lock_replaced_after_it_was_read_is_not_taken_over(s3_bucket, monkeypatch):
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    key = f"{s3_bucket}/swap/.datagen.lock"
    _dead_lock(fs, key)
    out = RemoteOut(f"s3://{s3_bucket}/swap")
    read = out._held

    def held_then_replaced():
        found = read()
        # a live writer (this process) takes the lock between our read and our takeover
        fs.pipe_file(key, json.dumps({"lock": "datagen split lock", "host": socket.gethostname(),
                                      "pid": __import__("os").getpid(), "token": "live"}).encode())
        return found
    monkeypatch.setattr(out, "_held", held_then_replaced)
    try:
        out.acquire()
    except OutputError as exc:
        assert "another split is writing" in str(exc)
    assert json.loads(fs.cat_file(key))["token"] == "live"  # never overwritten
