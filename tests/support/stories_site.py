"""Three sites syndicating the seed story: each its own feed, page layout and headline, on one loopback server.

``/site{n}/rss.xml`` lists one item linking ``/site{n}/story.html``; the page is the seed article's paragraphs
in one of the bench layouts (broadsheet, portal, blog) under another headline, like a wire copy on three
news sites: the second adds a paragraph of local reaction, the third cuts the last paragraph, so no two
extracted texts are equal (the content hash alone would not join them).
"""

from __future__ import annotations

import json
import random
import threading
import time
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.layouts import PageParts, render_page

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
HEADLINES = (
    "ISIS Thrown out of Syria & Iraq Is on the Terror-Path in Libya",
    "Islamic State regroups in Libya's southern desert",
    "After Sirte, the jihadists move south: a new front in Libya",
)
LAYOUTS = ("broadsheet", "portal", "blog")
SITES = ("The Desert Dispatch", "Sahara Daily", "Maghreb Wire")
LOCAL_REACTION = (
    "In Sabha, local officials said they had not been warned about the new camps and asked the government in "
    "Tripoli to send more troops to guard the roads south of the city before the end of the month."
)


def seed_paragraphs() -> list[str]:
    return list(json.loads((SEEDS / "expected.json").read_text(encoding="utf-8"))["paragraphs"])


class StoriesSite:
    """``with StoriesSite(published) as site: site.feeds`` (feed dicts for a feeds file)."""

    def __init__(self, published: list[Any], paragraphs: list[str] | None = None) -> None:
        self.published = published  # one datetime per site: the order they first publish the story
        self.paragraphs = paragraphs or seed_paragraphs()
        self.pages: dict[str, bytes] = {}
        # seconds the server waits before answering a site's story page: makes copies arrive in a known order
        self.page_delays: dict[int, float] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                body = site.pages.get(path)
                time.sleep(site.delay_for(path))
                ctype = "application/rss+xml" if self.path.endswith(".xml") else "text/html; charset=utf-8"
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        for n in range(len(published)):
            self._add_site(n)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _add_site(self, n: int) -> None:
        url = f"{self.base}/site{n}/story.html"
        parts = PageParts(
            url=url, site=SITES[n], title=HEADLINES[n], author="Staff", published=self.published[n].isoformat(),
            paragraphs=tuple(self._edited(n)), related=("Markets close higher", "Weather: a hot week ahead"),
        )  # fmt: skip
        self.pages[f"/site{n}/story.html"] = render_page(LAYOUTS[n], parts, random.Random(n)).encode()
        item = (
            f"<item><title>{escape(HEADLINES[n])}</title><link>{url}</link><guid>{url}</guid>"
            f"<pubDate>{format_datetime(self.published[n])}</pubDate></item>"
        )
        self.pages[f"/site{n}/rss.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(SITES[n])}</title>'
            f"<link>{self.base}/site{n}/</link><description>news</description>{item}</channel></rss>"
        ).encode()

    def delay_for(self, path: str) -> float:
        for n, delay in self.page_delays.items():
            if path == f"/site{n}/story.html":
                return delay
        return 0.0

    def _edited(self, n: int) -> list[str]:
        if n == 1:
            return [*self.paragraphs, LOCAL_REACTION]
        if n == 2:
            return self.paragraphs[:-1]
        return self.paragraphs

    @property
    def feeds(self) -> list[dict[str, Any]]:
        return [{"id": f"site{n}", "url": f"{self.base}/site{n}/rss.xml"} for n in range(len(self.published))]

    def __enter__(self) -> StoriesSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
