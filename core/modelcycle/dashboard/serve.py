"""The dashboard served live, read-only, with the standard library's ThreadingHTTPServer.

* It binds 127.0.0.1 unless told otherwise; on a loopback address it also refuses
  requests whose Host header names another host (a DNS-rebinding page cannot read it).
* GET and HEAD only: every other method is answered 405 and changes nothing.
* The page is rebuilt when the store changed: before answering, a cheap fingerprint of
  the store (the last entry number of each journal the page reads, and the pending
  alerts) is compared with the one the cached page was built from. Concurrent requests
  share one build.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..context import context_of
from .build import HERE, content_security_policy, render

if TYPE_CHECKING:  # pragma: no cover
    from ..context import ContextSource

PAGE_PATHS = ("/", "/index.html", "/dashboard.html")
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def fingerprint(ctx: ContextSource) -> str:
    """Changes whenever something the page shows changes in the store."""
    ctx = context_of(ctx)
    from .. import checks
    from ..history import evaluation_journal as evaluations
    from ..journal import Journal
    from ..retention import tombstones
    from ..scenarios import runs_journal

    parts: list[str] = []
    for model in ctx.settings.models:
        latest, active = ctx.registry.latest(model), ctx.registry.active(model)
        parts.append(f"{model}/versions={(latest or {}).get('version')}")
        parts.append(f"{model}/activations={(active or {}).get('seq')}")
        parts.append(f"{model}/evaluations={evaluations(ctx, model).last()[0]}")
        parts.append(f"{model}/deleted={tombstones(ctx, model).last()[0]}")
    for name in ctx.settings.checks:
        parts.append(f"check/{name}={checks.check_journal(ctx, name).last()[0]}")
    for name in ctx.settings.scenarios:
        parts.append(f"scenario/{name}={runs_journal(ctx, name).last()[0]}")
    parts.append(f"alerts/log={Journal(ctx.store, 'alerts/log').last()[0]}")  # sent alerts
    for key in sorted(ctx.store.list("alerts/pending")):
        raw = ctx.store.get(key)
        parts.append(f"{key}={hashlib.sha256(raw or b'').hexdigest()}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class DashboardServer(ThreadingHTTPServer):
    """Serves one project's dashboard; `page()` is the current HTML, rebuilt when the store changed."""

    daemon_threads = True

    def __init__(
        self,
        ctx: ContextSource,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        refresh: int | None = 60,
        log: Callable[[str], None] | None = None,
    ) -> None:
        ctx = context_of(ctx)
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.ctx = ctx
        self.refresh = refresh
        self.log = log
        self.loopback = is_loopback(host)
        self._lock = threading.Lock()
        self._page: bytes | None = None
        self._built_from: str | None = None
        self.builds = 0
        self.csp = content_security_policy((HERE / "static" / "dashboard.css").read_text(encoding="utf-8"))
        self.csp += "; frame-ancestors 'none'"
        super().__init__((host, port), DashboardHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"

    def page(self) -> bytes:
        with self._lock:  # one build at a time; requests arriving meanwhile get its result
            try:
                current: str | None = fingerprint(self.ctx)
            except Exception:  # noqa: BLE001 - cannot tell: rebuild
                current = None
            if self._page is None or current is None or current != self._built_from:
                started = time.perf_counter()
                self._page = render(self.ctx, refresh=self.refresh, served=True).encode("utf-8")
                self._built_from = current
                self.builds += 1
                if self.log:
                    self.log(f"dashboard rebuilt in {time.perf_counter() - started:.2f} s ({len(self._page):,} bytes)")
            return self._page


class DashboardHandler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "modelcycle-dashboard"
    sys_version = ""

    def _headers(self, status: int, content_type: str, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _text(self, status: int, text: str, *, body: bool = True, extra: dict[str, str] | None = None) -> None:
        data = (text + "\n").encode("utf-8")
        self._headers(status, "text/plain; charset=utf-8", len(data), extra)
        if body:
            self.wfile.write(data)

    def _host_allowed(self) -> bool:
        if not self.server.loopback:
            return True
        host = self.headers.get("Host", "")
        name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.split(":", 1)[0]
        return name == "" or is_loopback(name.lower())

    def _answer(self, body: bool) -> None:
        if not self._host_allowed():
            self._text(403, "forbidden: this dashboard answers only to a loopback host name", body=body)
            return
        path = urlsplit(self.path).path
        if path == "/favicon.ico":
            self._headers(204, "image/x-icon", 0)
            return
        if path not in PAGE_PATHS:
            self._text(404, f"not found: the dashboard is at {PAGE_PATHS[0]}", body=body)
            return
        try:
            page = self.server.page()
        except Exception as exc:  # noqa: BLE001 - one bad build must not kill the server
            message = self.server.ctx.settings.redactor(" ".join(f"{type(exc).__name__}: {exc}".split())[:500])
            if self.server.log:
                self.server.log(f"error building the dashboard: {message}")
            self._text(500, f"error building the dashboard: {message}", body=body)
            return
        self._headers(200, "text/html; charset=utf-8", len(page), {"Content-Security-Policy": self.server.csp})
        if body:
            self.wfile.write(page)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        self._answer(body=False)

    def _refuse(self) -> None:
        self.close_connection = True
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) <= 1 << 20:  # read it, so closing does not reset the connection
            self.rfile.read(int(length))
        self._text(
            405,
            f"method {self.command} not allowed: the dashboard is read-only (GET, HEAD)",
            extra={"Allow": "GET, HEAD", "Connection": "close"},
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        if self.server.log:
            self.server.log(f"{self.address_string()} {format % args}")


def make_server(
    ctx: ContextSource,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    refresh: int | None = 60,
    log: Callable[[str], None] | None = None,
) -> DashboardServer:
    """A bound, not yet serving, dashboard server (port 0 picks a free port: see `.server_address`)."""
    ctx = context_of(ctx)
    from ..errors import ModelcycleError

    try:
        return DashboardServer(ctx, host, port, refresh=refresh, log=log)
    except OSError as exc:
        raise ModelcycleError(
            f"cannot serve the dashboard on {host}:{port}: {exc.strerror or exc}; pick another --port or --host"
        ) from None


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def serve(
    ctx: ContextSource,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    refresh: int | None = 60,
    stop: threading.Event | None = None,
    on_ready: Callable[[DashboardServer], None] | None = None,
    log: Callable[[str], None] | None = _stderr,
) -> None:
    """Serve the dashboard until Ctrl-C (or `stop` is set). Read-only; binds 127.0.0.1 by default."""
    ctx = context_of(ctx)
    server = make_server(ctx, host, port, refresh=refresh, log=log)
    if stop is not None:
        threading.Thread(target=lambda: (stop.wait(), server.shutdown()), daemon=True).start()
    try:
        if on_ready is not None:
            on_ready(server)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
