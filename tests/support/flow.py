"""Pieces for the engine tests: small feeds and article pages, a route that holds its answer until released,
and a TCP proxy that can be cut and restored (an Elasticsearch outage without touching the node)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml

from tests.support.ingest_servers import Route, send

PARAGRAPH = (
    "The regional council met on Tuesday to discuss the reconstruction of the harbour district after the "
    "winter storms, and agreed to a budget that the finance committee will review next month. "
)


def page(title: str, body: str = "") -> bytes:
    text = body or PARAGRAPH * 6
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{text}</p><p>{PARAGRAPH}</p></article></body></html>"
    ).encode()


def rss(items: Sequence[tuple[str, str | None]]) -> bytes:
    """An RSS 2.0 document; each item is (title, link or None for an entry without a link)."""
    rows = []
    for title, link in items:
        link_xml = f"<link>{link}</link><guid>{link}</guid>" if link else ""
        rows.append(f"<item><title>{title}</title>{link_xml}<description>{title}</description></item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://example.org/</link><description>d</description>{''.join(rows)}</channel></rss>"
    ).encode()


def held(route: Route, release: threading.Event, arrived: threading.Event | None = None) -> Route:
    """``route``, answered only once ``release`` is set (the request is held open meanwhile)."""

    def hold(h: BaseHTTPRequestHandler) -> None:
        if arrived is not None:
            arrived.set()
        release.wait(120)
        route(h)

    return hold


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (its last answer)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def serve(body: bytes, ctype: str) -> Route:
    return lambda h: send(h, 200, body, ctype)


def feed_list(path: Path, feeds: dict[str, str], interval_s: int = 900) -> Path:
    path.write_text(
        yaml.safe_dump({"feeds": [{"id": k, "url": v, "interval_s": interval_s} for k, v in feeds.items()]})
    )
    return path


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut()`` drops every connection and refuses new ones until
    ``restore()`` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)  # the timeout was for the connect: an idle keep-alive connection stays open
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
