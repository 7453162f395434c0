"""Shared fixtures: projects in temporary folders, and a real S3 server on loopback."""

from __future__ import annotations

import itertools
import logging
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from modelcycle import open_project

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_buckets = itertools.count()


def _atomic_conditional_writes() -> None:
    """Make moto decide a conditional PUT atomically, as S3 does.

    moto checks `If-None-Match: *` and then stores the object, with nothing between the
    two: two threads of its server can both pass the check, and the second write then
    replaces the first. AWS S3 decides conditional writes atomically (one of two racing
    writers gets 412), and the store's consistency rests on that; so in the test server
    every PUT and multipart completion runs under one lock.
    """
    import functools
    import threading

    from moto.s3.responses import S3Response

    if getattr(S3Response.put_object, "_atomic", False):
        return
    lock = threading.Lock()
    for name in ("put_object", "_key_response_post"):
        original = getattr(S3Response, name)

        def locked(self, *args, _original=original, **kwargs):  # noqa: ANN001, ANN202
            with lock:
                return _original(self, *args, **kwargs)

        locked = functools.wraps(original)(locked)
        locked._atomic = True
        setattr(S3Response, name, locked)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in this process, on 127.0.0.1 and a free port."""
    from moto.server import ThreadedMotoServer

    _atomic_conditional_writes()
    os.environ.update(S3_ENV)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A new, empty bucket for one test."""
    import boto3

    name = f"test-bucket-{os.getpid()}-{next(_buckets)}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


def write_settings(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "modelcycle.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., object]:
    """make_project(settings_text="", **kwargs) → an open Project in a fresh folder."""
    counter = itertools.count()

    def make(text: str = '[project]\nname = "test"\n', **kwargs: object) -> object:
        folder = tmp_path / f"project{next(counter)}"
        write_settings(folder, text)
        return open_project(folder, **kwargs)

    return make


STORE_KINDS = ["local", "memory", "s3"]


@pytest.fixture(params=STORE_KINDS)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The [project] section of a project whose store is a folder, memory:// or S3."""
    kind = request.param
    if kind == "local":
        return '[project]\nname = "t"\nstore = ".modelcycle"\n'
    if kind == "memory":
        return f'[project]\nname = "t"\nstore = "memory://mc-{tmp_path.name}"\n'
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return f'[project]\nname = "t"\nstore = "s3://{bucket}/store"\nstore_options = {{ endpoint_url = "{endpoint}" }}\n'
