"""A minimal writable TAXII 2.1 collection on 127.0.0.1: what a ``taxii`` channel pushes to.

Wirewatch's own TAXII collections are read-only views of its alerts, so the channel is tested against this
inbox: it answers "Add Objects" (POST ``objects/``) with a status resource, keeps the newest version of each
object by id (as a platform does), serves them back (GET ``objects/``) and its collection description, so
``taxii2-client`` can both read what the channel wrote and add objects the way the reference client does.
Faults come from ``statuses`` (answered in order before the normal 202) and ``refuse`` (object types it
rejects in the status resource)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback import LoopbackServer

MEDIA = "application/taxii+json;version=2.1"
COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"


class TaxiiInbox(LoopbackServer):
    protocol_version = "HTTP/1.1"

    def __init__(self, token: str, *, statuses: list[int] | None = None, refuse: tuple[str, ...] = ()) -> None:
        self.token = token
        self.statuses = list(statuses or [])
        self.refuse = refuse
        self.objects: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []  # headers and envelope of each POST that got through
        self._lock = threading.Lock()
        super().__init__(start=True)

    @property
    def collection_url(self) -> str:
        return self.url(f"/api/collections/{COLLECTION}/")

    def _answer(self, request: BaseHTTPRequestHandler, status: int, body: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> None:  # fmt: skip
        data = json.dumps(body).encode() if body is not None else b""
        request.send_response(status)
        request.send_header("Content-Type", MEDIA)
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._answer(request, 401, {"title": "unauthorized", "http_status": "401"})
        path = request.path.split("?")[0]
        if path == f"/api/collections/{COLLECTION}/" and request.command == "GET":
            return self._answer(request, 200, {"id": COLLECTION, "title": "inbox", "can_read": True,
                                               "can_write": True, "media_types": [MEDIA]})  # fmt: skip
        if path != f"/api/collections/{COLLECTION}/objects/":
            return self._answer(request, 404, {"title": "not found", "http_status": "404"})
        if request.command == "GET":
            with self._lock:
                objects = list(self.objects.values())
            return self._answer(request, 200, {"more": False, "objects": objects})
        with self._lock:
            status = self.statuses.pop(0) if self.statuses else 202
        if status != 202:
            return self._answer(request, status, {"title": "busy", "http_status": str(status)}, {"Retry-After": "0"})
        if request.headers.get("Content-Type", "").replace(" ", "") != MEDIA:
            return self._answer(request, 415, {"title": "unsupported media type", "http_status": "415"})
        envelope = json.loads(body)
        failures, stored = [], 0
        with self._lock:
            self.posts.append({"headers": dict(request.headers.items()), "envelope": envelope})
            for obj in envelope.get("objects", []):
                if obj["type"] in self.refuse:
                    failures.append({"id": obj["id"], "message": f"{obj['type']} is not accepted here"})
                    continue
                known = self.objects.get(obj["id"])
                if known is None or str(known.get("modified", "")) <= str(obj.get("modified", "")):
                    self.objects[obj["id"]] = obj
                stored += 1
        self._answer(request, 202, {
            "id": str(uuid.uuid4()), "status": "complete", "total_count": stored + len(failures),
            "success_count": stored, "failure_count": len(failures), "pending_count": 0, "failures": failures,
        })  # fmt: skip
