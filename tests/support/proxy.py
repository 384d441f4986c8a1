"""Real HTTP reverse proxies on loopback, for faults the pipeline meets in front of Elasticsearch.

``HoldingProxy``: the pipeline under test talks to Elasticsearch (or a feed server) through it. When a request
whose path matches ``hold`` arrives, the proxy records it, sets ``held`` and blocks it until ``release()``; the
test can then ``kill -9`` the pipeline while that request is in flight, exactly as a crash would happen.
``MsearchRefusingProxy``: answers 429 to chosen searches of an ``_msearch`` (a node shedding search load).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

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


class MsearchRefusingProxy(LoopbackServer):
    """A reverse proxy in front of Elasticsearch that answers 429 to chosen searches of an ``_msearch``.

    While ``refusing`` is set, every search of an ``_msearch`` request whose body ``refuse(body)`` picks gets a
    per-item 429 (``es_rejected_execution_exception``, as a node whose search queue is full answers); the
    others are forwarded, in one request, and their answers merged back in order. Everything else passes.
    With ``whole_request`` the whole ``_msearch`` is answered 429 instead (a node refusing the request).
    ``refused`` counts the searches refused, ``msearches`` the ``_msearch`` requests seen."""

    protocol_version = "HTTP/1.1"

    def __init__(self, target: str, refuse: Callable[[dict[str, Any]], bool]) -> None:
        self.target = target.rstrip("/")
        self.refuse = refuse
        self.refusing = threading.Event()
        self.whole_request = False
        self.refused = 0
        self.msearches = 0
        self._lock = threading.Lock()
        super().__init__(start=True)

    @property
    def url(self) -> str:  # type: ignore[override]  # a proxy stands for one base URL
        return self.base_url

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        dropped = {"host", "connection", "content-length"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        refusing = request.path.split("?")[0].endswith("/_msearch") and self.refusing.is_set()
        if refusing and self.whole_request:
            error = {"type": "es_rejected_execution_exception", "reason": "rejected by the test proxy"}
            status, payload = 429, json.dumps({"error": error, "status": 429}).encode()
            out = {"Content-Type": "application/json"}
            with self._lock:
                self.msearches += 1
        elif refusing:
            status, payload, out = 200, self._msearch(request.path, body, headers), {"Content-Type": "application/json"}
        else:
            status, payload, out = self._forward(request.command, request.path, body, headers)
        request.send_response(status)
        for key, value in out.items():
            if key.lower() not in {"transfer-encoding", "connection", "content-length", "x-elastic-product"}:
                request.send_header(key, value)
        request.send_header("X-Elastic-Product", "Elasticsearch")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        forwarded = urllib.request.Request(self.target + path, data=body or None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(forwarded, timeout=60) as response:
                return response.status, response.read(), dict(response.headers.items())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers.items())

    def _msearch(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [line for line in body.split(b"\n") if line.strip()]
        pairs = list(zip(lines[0::2], lines[1::2], strict=True))
        refused = [self.refuse(json.loads(search)) for _, search in pairs]
        with self._lock:
            self.msearches += 1
            self.refused += sum(refused)
        passed = [pair for pair, no in zip(pairs, refused, strict=True) if not no]
        answers: list[dict[str, Any]] = []
        if passed:
            payload = b"".join(head + b"\n" + search + b"\n" for head, search in passed)
            _, raw, _ = self._forward("POST", path, payload, headers)
            answers = json.loads(raw)["responses"]
        real = iter(answers)
        error = {"type": "es_rejected_execution_exception", "reason": "rejected by the test proxy"}
        merged = [{"error": error, "status": 429} if no else next(real) for no in refused]
        return json.dumps({"took": 1, "responses": merged}).encode()
