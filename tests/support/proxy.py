"""Real HTTP reverse proxies on loopback, for faults the pipeline meets in front of Elasticsearch.

The pipeline under test talks to Elasticsearch (or a feed server) through it. When a request whose path
matches ``hold`` arrives, the proxy records it, sets ``held`` and blocks it until ``release()``; the test can then
``kill -9`` the pipeline while that request is in flight, exactly as a crash would happen.

``fail_ids``: bulk items for these document ids are answered 503 (``unavailable_shards_exception``), as a node
whose shard is not available answers, and never reach Elasticsearch; the other items of the same bulk go
through. ``failed_items`` counts the items so answered.

``FaultProxy`` forwards the same way but fails the requests a test picks (by path and body): it answers them
503 like an overloaded node, or cuts the connection without an answer.
``MsearchRefusingProxy``: answers 429 to chosen searches of an ``_msearch`` (a node shedding search load).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.support.loopback import LoopbackServer


class HoldingProxy(LoopbackServer):
    protocol_version = "HTTP/1.1"

    def __init__(self, target: str, *, hold: str | None = None, fail_ids: set[str] | None = None) -> None:
        self.target = target.rstrip("/")
        self.hold_pattern = re.compile(hold) if hold else None
        self.fail_ids = set(fail_ids or ())
        self.failed_items = 0
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
        self._pass_on(request, body)

    def _pass_on(self, request: BaseHTTPRequestHandler, body: bytes | None) -> None:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "connection"}}
        if body and self.fail_ids and urlsplit(request.path).path.endswith("/_bulk"):
            status, payload, out_headers = self._bulk_failing_items(request.path, body, headers)
        else:
            status, payload, out_headers = self._forward(request.command, request.path, body, headers)
        self._answer(request, status, payload, out_headers)

    def _forward(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes, Any]:
        forwarded = urllib.request.Request(self.target + path, data=body or None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(forwarded, timeout=60) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers

    def _bulk_failing_items(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, Any]:
        """Forward the bulk without the items of ``fail_ids``; answer those 503, in their places."""
        lines = [line for line in body.split(b"\n") if line.strip()]
        ops: list[tuple[str, dict[str, Any], list[bytes]]] = []  # (action, its metadata, its lines)
        i = 0
        while i < len(lines):
            action_line = json.loads(lines[i])
            action, meta = next(iter(action_line.items()))
            size = 1 if action == "delete" else 2
            ops.append((action, meta, lines[i : i + size]))
            i += size
        failing = [str(meta.get("_id")) in self.fail_ids for _, meta, _ in ops]
        kept = [op for op, fail in zip(ops, failing, strict=True) if not fail]
        forwarded_items: list[dict[str, Any]] = []
        status, out_headers, took = 200, {"Content-Type": "application/json", "X-Elastic-Product": "Elasticsearch"}, 1
        errors = any(failing)
        if kept:
            data = b"\n".join(line for _, _, op_lines in kept for line in op_lines) + b"\n"
            sized = {k: v for k, v in headers.items() if k.lower() != "content-length"}  # urllib sets it anew
            status, payload, out_headers = self._forward("POST", path, data, sized)
            if status != 200:
                return status, payload, out_headers
            answer = json.loads(payload)
            forwarded_items, took, errors = answer["items"], answer.get("took", 1), errors or answer["errors"]
        items, given = [], iter(forwarded_items)
        for (action, meta, _), fail in zip(ops, failing, strict=True):
            if not fail:
                items.append(next(given))
                continue
            self.failed_items += 1
            error = {"type": "unavailable_shards_exception", "reason": "[articles][0] primary shard is not active"}
            items.append({action: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": 503,
                                   "error": error}})  # fmt: skip
        return status, json.dumps({"took": took, "errors": errors, "items": items}).encode(), out_headers

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, payload: bytes, out_headers: Any) -> None:
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
            self._pass_on(request, body)
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


class MsearchRefusingProxy(HoldingProxy):
    """A reverse proxy in front of Elasticsearch that answers 429 to chosen searches of an ``_msearch``.

    While ``refusing`` is set, every search of an ``_msearch`` request whose body ``refuse(body)`` picks gets a
    per-item 429 (``es_rejected_execution_exception``, as a node whose search queue is full answers); the
    others are forwarded, in one request, and their answers merged back in order. Everything else passes.
    With ``whole_request`` the whole ``_msearch`` is answered 429 instead (a node refusing the request).
    ``refused`` counts the searches refused, ``msearches`` the ``_msearch`` requests seen."""

    def __init__(self, target: str, refuse: Callable[[dict[str, Any]], bool]) -> None:
        self.refuse = refuse
        self.refusing = threading.Event()
        self.whole_request = False
        self.refused = 0
        self.msearches = 0
        self._lock = threading.Lock()
        super().__init__(target)
        self.start()

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
