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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HoldingProxy:
    def __init__(self, target: str, *, hold: str | None = None) -> None:
        self.target = target.rstrip("/")
        self.hold_pattern = re.compile(hold) if hold else None
        self.held = threading.Event()
        self._release = threading.Event()
        self.paths: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.paths.append(f"{self.command} {self.path}")
                if proxy.hold_pattern and proxy.hold_pattern.search(self.path):
                    proxy.held.set()
                    proxy._release.wait(timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
                request = urllib.request.Request(
                    proxy.target + self.path, data=body, method=self.command, headers=headers
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, payload, out_headers = response.status, response.read(), response.headers
                except urllib.error.HTTPError as exc:
                    status, payload, out_headers = exc.code, exc.read(), exc.headers
                self.send_response(status)
                for key, value in out_headers.items():
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def release(self) -> None:
        self.hold_pattern = None
        self._release.set()

    def __enter__(self) -> HoldingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
