"""A real HTTP reverse proxy on loopback that can hold requests, to kill a pass at a chosen point.

The pipeline under test talks to Elasticsearch (or a feed server) through it. When a request whose path
matches ``hold`` arrives, the proxy records it, sets ``held`` and blocks it until ``release()``; the test can then
``kill -9`` the pipeline while that request is in flight, exactly as a crash would happen.
"""

from __future__ import annotations

import re
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
        self.bodies: list[tuple[str, bytes]] = []  # (method and path, body) of each request that had one
        super().__init__()

    @property
    def url(self) -> str:  # type: ignore[override]  # a proxy stands for one base URL
        return self.base_url

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        self.paths.append(f"{request.command} {request.path}")
        if body:
            self.bodies.append((self.paths[-1], body))
        if self.hold_pattern and self.hold_pattern.search(request.path):
            self.held.set()
            self._release.wait(timeout=120)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "connection"}}
        forwarded = urllib.request.Request(
            self.target + request.path, data=body, method=request.command, headers=headers
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
