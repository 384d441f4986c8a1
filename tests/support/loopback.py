"""The one base of the tests' HTTP servers: a real threaded ``http.server`` on 127.0.0.1.

A test server subclasses ``LoopbackServer`` and implements ``handle(request)``, which gets the standard library's
``BaseHTTPRequestHandler`` for every method (GET, POST, PUT, DELETE, HEAD): it reads the request and writes the
answer, including faults (slow bytes, wrong lengths, dropped connections). The base owns the socket, the thread,
start and stop (a stopped server can start again on the same port, to play "down, then back"), and the URL.

    class Hello(LoopbackServer):
        def handle(self, request: BaseHTTPRequestHandler) -> None:
            request.send_response(200); request.send_header("Content-Length", "2"); request.end_headers()
            request.wfile.write(b"hi")

    with Hello() as server:
        httpx.get(server.url("/"))
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], owner: LoopbackServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", port), handler)


def _handler_class(version: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = version
        server: _Server

        def _dispatch(self) -> None:
            self.server.owner.handle(self)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

        def log_message(self, *args: Any) -> None:  # keep the test output clean
            return

    return Handler


class LoopbackServer:
    """Subclass and implement ``handle``; ``protocol_version`` "HTTP/1.1" keeps connections alive."""

    protocol_version = "HTTP/1.0"

    def __init__(self, port: int = 0, *, start: bool = False) -> None:
        self._handler = _handler_class(self.protocol_version)
        self._httpd: _Server | None = _Server(port, self._handler, self)
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        return self.base_url + path

    def start(self) -> None:
        """Serve (again, on the same port, after ``stop``)."""
        if self._thread is not None:
            return
        if self._httpd is None:
            self._httpd = _Server(self.port, self._handler, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the listening socket (connections are refused until ``start``)."""
        if self._httpd is not None:
            if self._thread is not None:
                self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
