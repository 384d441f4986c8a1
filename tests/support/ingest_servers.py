"""A real loopback HTTP server whose routes misbehave on purpose, for the ingest fault tests.

Each route is a function that writes the whole response through the request handler, so a test can send
anything a hostile or broken server would: stalls, endless bodies, gzip bombs, wrong charsets, redirect loops.
The server records every request (path and headers) and the peak number of requests in flight.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from ingest.fetch import FetchPolicy
from tests.support.loopback import LoopbackServer

Route = Callable[[BaseHTTPRequestHandler], None]


def fast_policy(**overrides: object) -> FetchPolicy:
    """Short timeouts and few retries so fault tests stay fast; loopback allowed (the servers live there)."""
    values: dict[str, object] = dict(
        connect_timeout_s=1.0,
        read_timeout_s=1.0,
        total_deadline_s=3.0,
        max_bytes=300_000,
        retries=1,
        backoff_s=0.05,
        max_retry_wait_s=2.0,
        allow_loopback=True,
        user_agent="WirewatchTest/1.0",
    )
    values.update(overrides)
    return FetchPolicy(**values)  # type: ignore[arg-type]


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    ctype: str | None = "text/html",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    if ctype:
        handler.send_header("Content-Type", ctype)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def respond(
    status: int,
    body: bytes | str = b"",
    ctype: str | None = "text/html",
    headers: dict[str, str] | None = None,
) -> Route:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return lambda h: send(h, status, data, ctype, headers)


def redirect(location: str, status: int = 302) -> Route:
    return respond(status, b"", None, {"Location": location})


def conditional(body: bytes | str, ctype: str, etag: str) -> Route:
    """A resource with an ETag: 304 and no body when the request's If-None-Match names it, else 200."""
    data = body.encode("utf-8") if isinstance(body, str) else body

    def route(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == etag:
            send(h, 304, b"", None, {"ETag": etag})
        else:
            send(h, 200, data, ctype, {"ETag": etag})

    return route


def stall(seconds: float, ctype: str = "application/rss+xml") -> Route:
    """Send headers, then nothing for ``seconds`` (a read timeout on the body)."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.flush()
        time.sleep(seconds)

    return route


def gzip_bomb(decompressed_mb: int, ctype: str = "application/rss+xml") -> Route:
    payload = gzip.compress(b"<rss>" + b" " * (decompressed_mb * 1_000_000), compresslevel=9)
    return respond(200, payload, ctype, {"Content-Encoding": "gzip"})


def endless(ctype: str = "text/html") -> Route:
    """A body with no length that never ends (until the client hangs up)."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.end_headers()
        chunk = b"<p>" + b"x" * 65_000 + b"</p>\n"
        try:
            for _ in range(10_000):
                h.wfile.write(chunk)
        except OSError:
            return

    return route


class FaultServer(LoopbackServer):
    """``with FaultServer({"/path": route, ...}) as server: server.url("/path")``."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        super().__init__()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        if request.command != "GET":
            respond(405, b"method not allowed", "text/plain")(request)
            return
        path = urlsplit(request.path).path
        with self._lock:
            self.requests.append((path, {k.lower(): v for k, v in request.headers.items()}))
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            self.routes.get(path, respond(404, b"not found", "text/plain"))(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)
