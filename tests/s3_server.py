"""A real S3 endpoint for tests: moto's ThreadedMotoServer on 127.0.0.1 with a free port.

``s3_server`` (session) starts it once and points the AWS environment at it (dummy credentials, a
region, ``AWS_ENDPOINT_URL``); nothing ever talks to another address. ``s3_bucket`` makes a fresh,
empty bucket per test and returns its name."""

from __future__ import annotations

import itertools
import logging
import os
import socket

import pytest

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_SESSION_TOKEN": "testing"}
_COUNTER = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """The endpoint URL of a moto S3 server on 127.0.0.1 (environment set for the whole session)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in [*ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE",
                                            "AWS_SHARED_CREDENTIALS_FILE"]}
    os.environ.update(ENV, AWS_ENDPOINT_URL=endpoint)
    for k in ("AWS_PROFILE",):
        os.environ.pop(k, None)
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    try:
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh empty bucket on the test server; returns its name."""
    import boto3
    import s3fs

    name = f"test-{os.getpid()}-{next(_COUNTER)}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=name)
    s3fs.S3FileSystem.clear_instance_cache()
    return name


def upload_dataset(local, bucket) -> str:
    """Copy a dataset directory made on local disk to ``s3://<bucket>/ds`` (object for object); its URL."""
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    for root, _, files in os.walk(local):
        for name in files:
            path = os.path.join(root, name)
            fs.put_file(path, f"{bucket}/ds/{os.path.relpath(path, local)}")
    return f"s3://{bucket}/ds"
