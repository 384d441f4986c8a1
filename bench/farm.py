"""A feed farm for the polling figure: N small feeds on H loopback hosts (one port each), in a spawned process so
its CPU is never billed to the pass.

Every feed lists ten entries without links (``no_link``: nothing to fetch), so a first pass over 20,000 feeds
costs polls and parses only, and the passes after it measure what an unchanged feed costs, as in production:
even feeds answer ``If-None-Match`` with 304 (a server with validators), odd ones send the same body again
(the pass compares its hash). The entries' pages and articles are measured elsewhere (``make bench``).
"""

from __future__ import annotations

import multiprocessing
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yaml

ENTRIES = 10


def farm_feed(i: int) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink=\"false\">farm-{i}-{k}</guid><title>Bulletin {k} of desk {i}</title>"
        f"<description>Short wire bulletin {k} from desk {i}.</description>"
        f"<pubDate>Mon, 07 Dec 2026 {k:02d}:00:00 GMT</pubDate></item>"
        for k in range(ENTRIES)
    )
    head = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Desk {i}</title>'
    return f"{head}<link>http://desk{i}.example/</link><description>farm</description>{items}</channel></rss>".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # see server.py: headers and body in two writes

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1].removesuffix(".xml")
        if not name.isdigit():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        i = int(name)
        etag = f'"farm-{i}"' if i % 2 == 0 else None
        if etag is not None and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = farm_feed(i)
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        if etag is not None:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _serve(hosts: int, conn: Connection) -> None:
    servers = []
    for _ in range(hosts):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.request_queue_size = 128
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send([f"http://127.0.0.1:{s.server_address[1]}" for s in servers])
    threading.Event().wait()


class FeedFarm:
    """``with FeedFarm(hosts) as farm: farm.pid, farm.write_feeds(path, n)``."""

    def __init__(self, hosts: int = 100) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(hosts, child), daemon=True, name="bench-farm")
        self._child = child
        self.bases: list[str] = []

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def __enter__(self) -> FeedFarm:
        self._process.start()
        self._child.close()
        if not self._parent.poll(120):
            self.close()
            raise RuntimeError("the feed farm did not start within 120 s")
        self.bases = self._parent.recv()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(10)

    def write_feeds(self, path: Path, feeds: int) -> Path:
        rows = [{"id": f"farm-{i:05d}", "url": f"{self.bases[i % len(self.bases)]}/farm/{i}.xml", "interval_s": 60}
                for i in range(feeds)]  # fmt: skip
        path.write_text(yaml.safe_dump({"feeds": rows}, sort_keys=False), encoding="utf-8")
        return path
