"""``/healthz`` and ``/metrics``: whether the node answers and the work moves; the HTTP port of ``wirewatch run``.

A health answer is JSON with ``status`` ``ok`` (HTTP 200) or ``failing`` (503) and one entry per check:
``elasticsearch`` (a ping within a short timeout, made at the request) and ``progress`` (when work last moved,
against a bound). The service's work moves when its counters change, or when it has nothing to do: an idle
service with no feed due is healthy, a service whose feeds stay in flight with nothing moving is not.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from wirewatch.metrics import CONTENT_TYPE, exposition

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger("wirewatch.health")
PING_TIMEOUT_S = 3.0


class ProgressClock:
    """When the work last moved: a change of ``signature`` (counters that grow with work done), or idleness."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signature: tuple[int, ...] | None = None
        self.last = time.time()

    def observe(self, signature: tuple[int, ...], *, idle: bool) -> float:
        with self._lock:
            if idle or signature != self._signature:
                self._signature = signature
                self.last = time.time()
            return self.last


def node_check(es: Elasticsearch) -> dict[str, Any]:
    """Whether the Elasticsearch node answers now (its cluster health, within a short timeout; any colour
    counts as an answer, and is shown); the error's type only, as an URL may hold a secret."""
    try:
        answer = es.options(request_timeout=PING_TIMEOUT_S, max_retries=0).cluster.health(timeout="1s")
    except Exception as exc:  # any failure to answer is the answer
        return {"ok": False, "answers": False, "error": type(exc).__name__}
    return {"ok": True, "answers": True, "cluster_status": answer.get("status")}


def progress_check(last_at: float | None, bound_s: float, **extra: Any) -> dict[str, Any]:
    """Whether the last progress (``time.time()``) lies within ``bound_s``; None: never."""
    if last_at is None:
        return {"ok": False, "last_progress_at": None, "bound_s": bound_s, **extra}
    age = max(0.0, time.time() - last_at)
    return {
        "ok": age <= bound_s,
        "last_progress_at": datetime.fromtimestamp(last_at, UTC).isoformat(),
        "seconds_since": round(age, 1),
        "bound_s": bound_s,
        **extra,
    }


def health_answer(checks: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    ok = all(check["ok"] for check in checks.values())
    return (200 if ok else 503), {"status": "ok" if ok else "failing", "checks": checks}


class MetricsServer:
    """``GET /metrics`` (the registry, text format) and ``GET /healthz`` (``health()``), on a thread."""

    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, health: Callable[[], tuple[int, dict[str, Any]]]
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, exposition(registry), CONTENT_TYPE)
                elif path == "/healthz":
                    status, body = health()
                    self._send(status, json.dumps(body).encode(), "application/json")
                else:
                    self._send(404, b"not found: /metrics or /healthz\n", "text/plain")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # scrapes every few seconds would drown the health lines

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics-http", daemon=True)

    def __enter__(self) -> MetricsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
