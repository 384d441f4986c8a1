"""The benchmark's loopback site and alert receiver, in a process of its own.

The server runs in a separate (spawned) process so its CPU and memory are never billed to the pipeline: the
benchmark measures the pipeline's process tree and leaves this pid out. It renders the whole corpus once at
start (so serving a page costs a dictionary look-up, not generation), answers with keep-alive HTTP/1.1, and
takes alert webhooks on ``POST /hook``, appending ``{"id": alert id, "key": Idempotency-Key, "received": unix time}``
(one line per alert a message carries: a story's message lists every watch's alert) per
request to a JSON-lines file the benchmark reads afterwards.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from bench.corpus import CorpusSpec, make_corpus, site_files


def _alert_ids(body: bytes, key: str | None) -> list[str | None]:
    """The alerts a webhook message carries (``alerts`` of a story or digest, else ``alert``); its key if unreadable."""
    try:
        message = json.loads(body)
        found = [str(a["id"]) for a in message.get("alerts") or [message["alert"]]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return [key]
    return found or [key]


class _Site(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing its keep-alive connection (the pass's HTTP pool at its end) is not an error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    request_queue_size = 64

    def __init__(self, receipts: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        self.files: dict[str, tuple[bytes, str]] = {}
        self.receipts = receipts.open("a", encoding="utf-8")
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Site
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle on, a keep-alive client waits ~40 ms (delayed ACK)
    # for the second one, which would bill the site's latency to every fetch and delivery
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        found = self.server.files.get(unquote(self.path.split("?", 1)[0]))
        body, ctype = found if found else (b"not found\n", "text/plain")
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        received = time.time()  # before reading the body: the request has arrived
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        key = self.headers.get("Idempotency-Key")
        lines = [json.dumps({"id": aid, "key": key, "received": received}) for aid in _alert_ids(body, key)]
        with self.server.lock:
            self.server.receipts.write("".join(line + "\n" for line in lines))
            self.server.receipts.flush()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return


def _serve(spec: CorpusSpec, receipts: Path, conn: Connection) -> None:
    site = _Site(receipts)
    site.files = site_files(make_corpus(spec), site.base_url)
    conn.send(site.base_url)
    site.serve_forever()


class CorpusServer:
    """``with CorpusServer(spec, receipts) as server: server.base_url, server.pid, server.receipts()``."""

    def __init__(self, spec: CorpusSpec, receipts: Path) -> None:
        self.spec = spec
        self.receipts_path = receipts
        self.base_url = ""
        ctx = multiprocessing.get_context("spawn")
        self._parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(spec, receipts, child), daemon=True, name="bench-site")
        self._child = child

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def hook_url(self) -> str:
        return self.base_url + "/hook"

    def __enter__(self) -> CorpusServer:
        self.receipts_path.write_text("", encoding="utf-8")
        self._process.start()
        self._child.close()
        wait_s = max(300, self.spec.articles // 20)  # generating 20,000 pages takes minutes on a busy machine
        if not self._parent.poll(wait_s):
            self.close()
            raise RuntimeError(f"the benchmark site did not start within {wait_s} s")
        try:
            self.base_url = self._parent.recv()
        except EOFError as exc:
            self.close()
            raise RuntimeError(f"the benchmark site process died (exit code {self._process.exitcode})") from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(10)

    def receipts(self) -> dict[str, float]:
        """Alert id -> first time the receiver got it."""
        first: dict[str, float] = {}
        for line in self.receipts_path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["id"] and record["id"] not in first:
                first[record["id"]] = record["received"]
        return first

    def clear_receipts(self) -> None:
        self.receipts_path.write_text("", encoding="utf-8")
