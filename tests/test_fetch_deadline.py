"""One deadline bounds the whole fetch (issue 11, defect 8): headers, redirects and robots.txt included.

Each server below would finish, slowly, with a success: the old fetcher, which checked its deadline only while
reading a body, waited for it. Every assertion is about the outcome (the reason, which requests the server
saw, whether it saw the client hang up), never about wall-clock time.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest

from ingest.errors import FetchError, TransientFetchError
from ingest.fetch import Fetcher
from tests.support.ingest_servers import FaultServer, fast_policy, respond, send

HTML = "<html><body><p>hello</p></body></html>"
# read timeout well above the pace of the trickle: only the total deadline can stop these fetches
POLICY = fast_policy(total_deadline_s=3.0, read_timeout_s=5.0, connect_timeout_s=5.0)


class SlowHeaders:
    """A route that sends its response head one byte every ``pace_s`` seconds (about 12 s in all), then a
    body; it records whether the client hung up before the end."""

    def __init__(self, body: bytes, ctype: str, pace_s: float = 1.0, slow_bytes: int = 12) -> None:
        self.body, self.ctype, self.pace_s, self.slow_bytes = body, ctype, pace_s, slow_bytes
        self.connections = 0
        self.hung_up = 0
        self.finished = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.connections += 1
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {self.ctype}\r\nX-Slow: ".encode()
        tail = f"\r\nContent-Length: {len(self.body)}\r\n\r\n".encode() + self.body
        try:
            h.wfile.write(head)
            h.wfile.flush()
            for _ in range(self.slow_bytes):
                time.sleep(self.pace_s)
                h.wfile.write(b"a")
                h.wfile.flush()
            h.wfile.write(tail)
            h.wfile.flush()
        except OSError:
            with self._lock:
                self.hung_up += 1
        finally:
            h.close_connection = True
            self.finished.set()


def test_slow_headers_end_at_the_deadline_and_the_connection_is_closed() -> None:
    slow = SlowHeaders(HTML.encode(), "text/html")
    with FaultServer({"/x": slow}) as server, Fetcher(POLICY) as fetcher:
        with pytest.raises(TransientFetchError) as info:
            fetcher.fetch(server.url("/x"))
        assert info.value.reason == "total deadline of 3 s passed"
        # the server notices the hang-up at its next write; on the old code it finished the response instead
        assert slow.finished.wait(30)
        assert slow.hung_up == slow.connections == 1  # and no retry was started past the deadline


def test_the_deadline_covers_every_redirect() -> None:
    def slow_redirect(n: int):
        def route(h: BaseHTTPRequestHandler) -> None:
            time.sleep(0.8)  # under the read timeout; 6 hops take 4.8 s, past the 3 s deadline
            send(h, 302, b"", None, {"Location": f"/r{n + 1}"})

        return route

    routes = {f"/r{i}": slow_redirect(i) for i in range(6)}
    routes["/r6"] = respond(200, HTML)
    with FaultServer(routes) as server, Fetcher(fast_policy(total_deadline_s=3.0, max_redirects=10)) as fetcher:
        with pytest.raises(TransientFetchError, match=r"^total deadline of 3 s passed"):
            fetcher.fetch(server.url("/r0"))
        assert server.hits("/r6") == 0


def test_slow_robots_txt_holds_no_page_past_the_deadline() -> None:
    robots = SlowHeaders(b"User-agent: *\nAllow: /\n", "text/plain")
    routes = {"/robots.txt": robots, "/a.html": respond(200, HTML), "/b.html": respond(200, HTML)}
    with FaultServer(routes) as server, Fetcher(POLICY) as fetcher:

        def page(path: str) -> str:
            try:
                fetcher.fetch(server.url(path), kind="page")
            except FetchError as exc:
                return exc.reason
            return "fetched"

        with ThreadPoolExecutor(2) as pool:
            # Both pages of the host wait on the one robots.txt load (the per-host lock); neither may wait longer
            # than its own deadline, and both pages stay unfetched.
            reasons = list(pool.map(page, ["/a.html", "/b.html"]))
        assert all("deadline" in r and "robots.txt" in r for r in reasons), reasons
        assert any(r.startswith("robots.txt unavailable (total deadline of 3 s passed)") for r in reasons)
        assert server.hits("/a.html") == server.hits("/b.html") == 0
        assert robots.finished.wait(30) and robots.hung_up == robots.connections == 1
