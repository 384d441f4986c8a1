"""Real servers and article documents for the alert tests: an HTTP receiver and an SMTP server on loopback.

``Receiver`` is a threaded http.server that records every request (headers and body) and answers from a
script of statuses (then 200), or can be stopped to play "down". ``SmtpSink`` is aiosmtpd on loopback that
stores messages, or answers a chosen SMTP code to every DATA (after ``delay_s``, to play a slow server).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from elasticsearch import Elasticsearch

from search.alerting.indices import setup_alert_indices
from search.errors import AnalysisUnavailableError
from search.indices import setup_indices
from search.mappings import articles_body
from search.names import IndexNames
from tests.support.loopback import LoopbackServer


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(LoopbackServer):
    """A webhook receiver: records every request and answers from ``statuses`` in order, then 200."""

    protocol_version = "HTTP/1.1"

    def __init__(self, statuses: list[int] | None = None, retry_after: str | None = None) -> None:
        self.statuses: list[int] = list(statuses or [])
        self.retry_after = retry_after
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        super().__init__(start=True)

    @property
    def url(self) -> str:  # type: ignore[override]  # a receiver has one URL
        return f"http://127.0.0.1:{self.port}/hook"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        with self._lock:
            self.requests.append(Request(request.path, dict(request.headers.items()), body))
            status = self.statuses.pop(0) if self.statuses else 200
        request.send_response(status)
        if status != 200 and self.retry_after is not None:
            request.send_header("Retry-After", self.retry_after)
        request.send_header("Content-Length", "2")
        request.end_headers()
        request.wfile.write(b"ok")


def sent_alert_ids(requests: list[Request]) -> Counter[str]:
    """How many times each alert reached a webhook receiver: a story's message holds every watch's alert
    (``alerts``), a digest lists its alerts, a single alert is ``alert``; a scheduled digest counts once."""
    sent: Counter[str] = Counter()
    for request in requests:
        body = json.loads(request.body)
        if body.get("type") == "scheduled_digest":  # lists stories, not alerts: the digest itself, by its key
            sent[request.headers["Idempotency-Key"]] += 1
            continue
        sent.update(a["id"] for a in body.get("alerts") or [body["alert"]])
    return sent


def mailed_alert_ids(header: object) -> list[str]:
    """The alert ids of an ``X-Wirewatch-Alert-Ids`` header (a long list comes back folded: ", " between ids)."""
    return [part.strip() for part in str(header or "").split(",") if part.strip()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay_s:  # a slow mail server: sends overlap, as they do between runners side by side
            await asyncio.sleep(self.sink.delay_s)
        if self.sink.refuse_with:
            return self.sink.refuse_with
        self.sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class SmtpSink:
    def __init__(self, refuse_with: str | None = None, *, delay_s: float = 0.0) -> None:
        self.refuse_with = refuse_with
        self.delay_s = delay_s
        self.messages: list[Message] = []
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def article(
    doc_id: str,
    *,
    title: str,
    text: str,
    groups: dict[str, tuple[str, str]] | None = None,
    source: str = "demo",
    content_hash: str | None = None,
) -> dict[str, Any]:
    """An article document per docs/article-document.md; ``groups`` maps id -> (name, surface form found)."""
    tagged = []
    for gid, (name, form) in (groups or {}).items():
        start = text.find(form)
        mentions = [{"start": start, "end": start + len(form), "surface": form}] if start >= 0 else []
        tagged.append(
            {
                "id": gid,
                "name": name,
                "parent": None,
                "surface_forms": [form],
                "count": 1,
                "mentions": mentions,
            }
        )
    return {
        "id": doc_id,
        "url": f"https://news.example.org/{doc_id}",
        "canonical_url": f"https://news.example.org/{doc_id}",
        "source": source,
        "site_name": None,
        "title": title,
        "text": text,
        "description": None,
        "author": None,
        "published_at": "2024-05-01T10:00:00+00:00",
        "fetched_at": "2024-05-02T00:00:00+00:00",
        "language": "en",
        "extraction": {"method": "trafilatura", "date_source": "page"},
        "entities": [],
        "entity_names": {},
        "groups": tagged,
        "group_ids": list(groups or {}),
        "content_hash": content_hash or hashlib.sha256(text.encode()).hexdigest()[:16],
        "ner_done": False,
    }


def setup_store(es: Elasticsearch, names: IndexNames) -> IndexNames:
    """Articles index and alias, then the alert indices. On a node without English analysis (the shared
    development node lacks the plugin) the same mapping is created with standard analyzers instead."""
    try:
        setup_indices(es, names)
    except AnalysisUnavailableError:
        plain = {"analyzer": {"ww_english": {"type": "standard"}, "ww_exact": {"type": "standard"}}}
        body = articles_body(plain)
        es.indices.create(index=names.articles_index(1), aliases={names.articles: {}}, **body)
    setup_alert_indices(es, names)
    return names


@pytest.fixture()
def index_prefix(es: Elasticsearch) -> Iterator[str]:
    """conftest's fixture, cleaning up by concrete index names: works on a node that refuses wildcard
    deletes (action.destructive_requires_name, the default). Import it into a test module to use it."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    yield prefix
    found = es.indices.get(index=f"{prefix}*", expand_wildcards="all", allow_no_indices=True)
    if found:
        es.indices.delete(index=",".join(found), ignore_unavailable=True)
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")
