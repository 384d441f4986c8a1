"""A small threaded HTTP server for the seed corpus, on 127.0.0.1 and a free port.

The corpus: the English seed article (RSS and Atom feeds) and its French and Arabic companions (one RSS feed
each, from a French-language and an Arabic-language outlet of the region).

Every ``{base}`` in a served file becomes the server's own base URL, so the feeds link to pages on the same
server whatever port it got. Responses carry an ETag and a Last-Modified and answer conditional requests with
304, like a well-behaved news site. Used by the tests and by ``make run`` (``python -m seeds.server``).
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import hashlib
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

SEEDS = Path(__file__).resolve().parent
ARTICLE_PATH = "/news/2018/02/isis-terror-path-libya.html"
# the companion articles, from a French and an Arabic outlet of the region, each with its own RSS feed
COMPANION_PATHS = {
    "fr": "/fr/2018/02/sud-libyen-etat-islamique-al-qaida.html",
    "ar": "/ar/2018/02/tanzim-al-dawla-janub-libya.html",
}
# URL path -> (file in seeds/, content type)
ROUTES = {
    ARTICLE_PATH: ("article.html", "text/html; charset=utf-8"),
    COMPANION_PATHS["fr"]: ("article_fr.html", "text/html; charset=utf-8"),
    COMPANION_PATHS["ar"]: ("article_ar.html", "text/html; charset=utf-8"),
    "/rss.xml": ("rss.xml", "application/rss+xml; charset=utf-8"),
    "/atom.xml": ("atom.xml", "application/atom+xml; charset=utf-8"),
    "/fr/rss.xml": ("rss_fr.xml", "application/rss+xml; charset=utf-8"),
    "/ar/rss.xml": ("rss_ar.xml", "application/rss+xml; charset=utf-8"),
    "/feeds.yaml": ("feeds.yaml", "text/yaml; charset=utf-8"),
    "/robots.txt": ("robots.txt", "text/plain; charset=utf-8"),
}
LAST_MODIFIED = "Fri, 23 Feb 2018 10:00:00 GMT"  # the corpus is frozen: a fixed date keeps 304s predictable


def render(name: str, base_url: str) -> bytes:
    """A seed file with ``{base}`` replaced by ``base_url``."""
    return (SEEDS / name).read_text(encoding="utf-8").replace("{base}", base_url.rstrip("/")).encode("utf-8")


@dataclass(frozen=True)
class Hit:
    path: str
    status: int


class _Handler(BaseHTTPRequestHandler):
    server: _SeedHTTPServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        route = ROUTES.get(path)
        if route is None:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", {})
            return
        body = render(route[0], self.server.base_url)
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Cache-Control": "max-age=60"}
        if self._not_modified(etag):
            self._send(304, b"", None, headers)
        else:
            self._send(200, body, route[1], headers)

    def _not_modified(self, etag: str) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(
                    LAST_MODIFIED
                )
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: int, body: bytes, ctype: str | None, headers: dict[str, str]) -> None:
        self.server.record(Hit(urlsplit(self.path).path, status))
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # quiet: tests and the demo read ``hits`` instead


class _SeedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        self.hits: list[Hit] = []
        self._lock = threading.Lock()

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)


class SeedServer:
    """``with SeedServer() as server: server.base_url``; ``server.hits`` lists every request answered."""

    def __init__(self, port: int = 0) -> None:
        self._httpd = _SeedHTTPServer(port)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="seed-server", daemon=True)

    @property
    def base_url(self) -> str:
        return self._httpd.base_url

    @property
    def hits(self) -> list[Hit]:
        return list(self._httpd.hits)

    @property
    def article_url(self) -> str:
        return self.base_url + ARTICLE_PATH

    @property
    def companion_urls(self) -> dict[str, str]:
        """Language -> URL of the French and Arabic companion articles."""
        return {lang: self.base_url + path for lang, path in COMPANION_PATHS.items()}

    def __enter__(self) -> SeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the seed corpus on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    args = parser.parse_args(argv)
    with SeedServer(args.port) as server:
        print(
            f"seed server on {server.base_url} (feeds: {server.base_url}/rss.xml, /atom.xml, /fr/rss.xml, "
            "/ar/rss.xml); Ctrl-C stops",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
