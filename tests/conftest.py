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


class LossyProxy:
    """An HTTP proxy on 127.0.0.1 in front of the S3 server that can lose replies.

    `lose_replies(n, match)`: the next `n` requests for which `match(method, path, headers)`
    is true are forwarded and applied by the server, then the connection is closed before
    the reply is relayed, as when a network drops an answer: the client retries a request
    that already took effect.
    """

    def __init__(self, upstream: str) -> None:
        import http.client
        import http.server
        import threading
        from urllib.parse import urlsplit

        target = urlsplit(upstream)
        self.lost: list[tuple[str, str]] = []
        self._rules: list[list] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    raw = b""
                    while True:
                        line = self.rfile.readline()
                        raw += line
                        size = int(line.split(b";")[0].strip(), 16)
                        raw += self.rfile.read(size + 2)
                        if size == 0:
                            return raw
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self) -> None:
                body = self._body()
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items()}
                upstream_conn.request(self.command, self.path, body=body, headers=headers, encode_chunked=False)
                reply = upstream_conn.getresponse()
                data = reply.read()
                upstream_conn.close()
                if proxy._lose(self.command, self.path, self.headers):
                    self.close_connection = True
                    import socket

                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response_only(reply.status, reply.reason)
                for key, value in reply.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                length = reply.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
                self.send_header("Content-Length", length or "0")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def lose_replies(self, n: int, match: Callable[[str, str, object], bool]) -> None:
        with self._lock:
            self._rules.append([n, match])

    def _lose(self, method: str, path: str, headers: object) -> bool:
        with self._lock:
            for rule in self._rules:
                if rule[0] > 0 and rule[1](method, path, headers):
                    rule[0] -= 1
                    self.lost.append((method, path))
                    return True
        return False

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def conditional_put(path_part: str) -> Callable[[str, str, object], bool]:
    """Matches a put-if-absent (a PUT with If-None-Match: *) whose path contains `path_part`."""
    return lambda method, path, headers: (
        method == "PUT" and path_part in path and headers.get("If-None-Match") == "*"  # type: ignore[attr-defined]
    )


@pytest.fixture
def lossy_s3(s3_endpoint: str, s3_bucket: str) -> Iterator[tuple[LossyProxy, str]]:
    """(proxy, [project] section) of a project whose S3 store is reached through a LossyProxy."""
    proxy = LossyProxy(s3_endpoint)
    settings = (
        f'[project]\nname = "t"\nstore = "s3://{s3_bucket}/store"\n'
        f'store_options = {{ endpoint_url = "{proxy.url}" }}\n'
    )
    yield proxy, settings
    proxy.close()
