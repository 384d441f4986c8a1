"""A real HTTP reverse proxy on loopback that can hold requests, to kill a pass at a chosen point.

The pipeline under test talks to Elasticsearch (or a feed server) through it. When a request whose path
matches ``hold`` arrives, the proxy records it, sets ``held`` and blocks it until ``release()``; the test can then
``kill -9`` the pipeline while that request is in flight, exactly as a crash would happen.

``FaultProxy`` forwards the same way but fails the requests a test picks (by path and body): it answers them
503 like an overloaded node, or cuts the connection without an answer.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

from tests.support.loopback import LoopbackServer


class HoldingProxy(LoopbackServer):
    protocol_version = "HTTP/1.1"

    def __init__(self, target: str, *, hold: str | None = None) -> None:
        self.target = target.rstrip("/")
        self.hold_pattern = re.compile(hold) if hold else None
        self.held = threading.Event()
        self._release = threading.Event()
        self.paths: list[str] = []
        super().__init__()

    @property
    def url(self) -> str:  # type: ignore[override]  # a proxy stands for one base URL
        return self.base_url

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        self.paths.append(f"{request.command} {request.path}")
        if self.hold_pattern and self.hold_pattern.search(request.path):
            self.held.set()
            self._release.wait(timeout=120)
        self._forward(request, body)

    def _forward(self, request: BaseHTTPRequestHandler, body: bytes | None) -> None:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "connection"}}
        forwarded = urllib.request.Request(
            self.target + request.path, data=body or None, method=request.command, headers=headers
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=60) as response:
                status, payload, out_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, payload, out_headers = exc.code, exc.read(), exc.headers
        request.send_response(status)
        for key, value in out_headers.items():
            if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def release(self) -> None:
        self.hold_pattern = None
        self._release.set()

    def __exit__(self, *exc: object) -> None:
        self.release()
        super().__exit__(*exc)


class FaultProxy(HoldingProxy):
    """Forwards every request, except those whose ``"<METHOD> <path>\\n<body>"`` matches ``fail``: those get a
    503 with an Elasticsearch-shaped error body (``mode="503"``) or a connection closed without an answer
    (``mode="cut"``). Set ``fail`` (and ``mode``) at any time; None forwards everything again. ``stop()`` also
    closes the kept-alive connections, so the address refuses like a node that is down."""

    def __init__(self, target: str) -> None:
        self.fail: str | None = None
        self.mode = "503"
        self.faults = 0
        self._open: set[socket.socket] = set()
        super().__init__(target)

    def stop(self) -> None:
        super().stop()
        for conn in list(self._open):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._open.clear()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        self._open.add(request.connection)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        seen = f"{request.command} {request.path}\n{body.decode(errors='replace')}"
        if self.fail is None or not re.search(self.fail, seen):
            self._forward(request, body)
            return
        self.faults += 1
        if self.mode == "cut":
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = b'{"error":{"type":"unavailable","reason":"the proxy answers 503"},"status":503}'
        request.send_response(503)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)
