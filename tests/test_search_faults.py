"""Bulk indexing under faults produced by a real HTTP proxy in front of the real node.

The proxy forwards to Elasticsearch but can reject chosen documents of a bulk request with a per-item 429
(only the others reach the node, as when a node's write queue is full), refuse bodies over a size with 413
(like ``http.max_content_length``), answer 503 to the first requests, or drop connections after N bulks.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from search.bulk import index_articles
from search.client import make_client
from search.errors import SearchUnavailable
from search.indices import setup_indices
from search.names import IndexNames
from tests.support.loopback import LoopbackServer
from tests.support.search_docs import make_doc


class FaultProxy(LoopbackServer):
    protocol_version = "HTTP/1.1"

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.reject_ids: set[str] = set()  # per-item 429 for these ids ...
        self.reject_times = 1  # ... in this many bulk requests (then they pass)
        self.max_body: int | None = None
        self.fail_first = 0  # answer 503 to this many bulk requests first
        self.drop_after: int | None = None  # close the connection of every bulk after this many
        self.bulk_sizes: list[int] = []  # documents per bulk request that reached the proxy
        self._lock = threading.Lock()
        super().__init__(start=True)

    @property
    def url(self) -> str:  # type: ignore[override]  # a proxy stands for one base URL
        return self.base_url

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        if "_bulk" in request.path:
            self.on_bulk(request, body)
        else:
            reply(request, *self.forward(request.command, request.path, body, dict(request.headers)))

    def forward(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        keep = {k: v for k, v in headers.items() if k.lower() not in {"host", "connection", "content-length"}}
        request = urllib.request.Request(self.target + path, data=body or None, method=method, headers=keep)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def on_bulk(self, handler: Any, body: bytes) -> None:
        lines = [line for line in body.split(b"\n") if line]
        pairs = list(zip(lines[0::2], lines[1::2], strict=True))
        with self._lock:
            self.bulk_sizes.append(len(pairs))
            seen = len(self.bulk_sizes)
            failing = seen <= self.fail_first
            rejecting = seen <= self.reject_times
        if self.drop_after is not None and seen > self.drop_after:
            handler.close_connection = True
            handler.connection.close()
            return
        if failing:
            reply(handler, 503, b'{"error":{"type":"unavailable","reason":"test proxy"},"status":503}')
            return
        if self.max_body is not None and len(body) > self.max_body:
            reply(handler, 413, b"")
            return
        reply(handler, 200, self.partly_forward(handler, pairs, rejecting))

    def partly_forward(self, handler: Any, pairs: list[tuple[bytes, bytes]], rejecting: bool) -> bytes:
        def doc_id(action: bytes) -> str:
            return str(next(iter(json.loads(action).values()))["_id"])

        passed = [p for p in pairs if not (rejecting and doc_id(p[0]) in self.reject_ids)]
        items: list[dict[str, Any]] = []
        if passed:
            payload = b"".join(a + b"\n" + s + b"\n" for a, s in passed)
            _, raw = self.forward("POST", handler.path, payload, dict(handler.headers))
            items = json.loads(raw)["items"]
        merged, real = [], iter(items)
        for action, _ in pairs:
            if rejecting and doc_id(action) in self.reject_ids:
                error = {"type": "es_rejected_execution_exception", "reason": "rejected by test proxy"}
                merged.append({"index": {"_id": doc_id(action), "status": 429, "error": error}})
            else:
                merged.append(next(real))
        return json.dumps({"took": 1, "errors": True, "items": merged}).encode()

    def close(self) -> None:
        self.stop()


def reply(request: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("X-Elastic-Product", "Elasticsearch")
    for key, value in (headers or {}).items():
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)


@pytest.fixture()
def proxy(es: Elasticsearch, es_url: str, index_names: IndexNames) -> Iterator[FaultProxy]:
    setup_indices(es, index_names)
    fault_proxy = FaultProxy(es_url)
    yield fault_proxy
    fault_proxy.close()


@pytest.fixture()
def via_proxy(proxy: FaultProxy) -> Iterator[Elasticsearch]:
    # no transport retries: the retries under test are index_articles' own, with backoff
    client = make_client(url=proxy.url, max_retries=0, request_timeout=10)
    yield client
    client.close()


def _stored(es: Elasticsearch, names: IndexNames) -> set[str]:
    es.indices.refresh(index=names.articles)
    hits = es.search(index=names.articles, size=100, source=False)["hits"]["hits"]
    return {h["_id"] for h in hits}


def test_per_document_429_is_retried(
    proxy: FaultProxy, via_proxy: Elasticsearch, es: Elasticsearch, index_names: IndexNames
) -> None:
    proxy.reject_ids, proxy.reject_times = {"d1", "d3"}, 1
    docs = [make_doc(f"d{i}") for i in range(5)]
    report = index_articles(via_proxy, index_names, docs, max_retries=2, backoff_s=0.01)
    assert sorted(report.written) == [f"d{i}" for i in range(5)]
    assert report.failed == {}
    assert proxy.bulk_sizes == [5, 2]  # only the rejected two were sent again
    assert _stored(es, index_names) == {f"d{i}" for i in range(5)}


def test_persistent_429_ends_transient_not_lost(
    proxy: FaultProxy, via_proxy: Elasticsearch, es: Elasticsearch, index_names: IndexNames
) -> None:
    proxy.reject_ids, proxy.reject_times = {"d2"}, 99
    report = index_articles(
        via_proxy, index_names, [make_doc(f"d{i}") for i in range(4)], max_retries=2, backoff_s=0.01
    )
    assert sorted(report.written) == ["d0", "d1", "d3"]
    assert list(report.transient) == ["d2"]
    assert "429" in report.transient["d2"]
    assert proxy.bulk_sizes == [4, 1, 1]
    assert _stored(es, index_names) == {"d0", "d1", "d3"}


def test_oversized_chunks_are_split_and_a_lone_giant_is_permanent(
    proxy: FaultProxy, via_proxy: Elasticsearch, es: Elasticsearch, index_names: IndexNames
) -> None:
    proxy.max_body = 6_000
    docs = [make_doc(f"s{i}", text="word " * 200) for i in range(8)]  # about 1.6 kB each
    docs.append(make_doc("giant", text="word " * 2_000))
    report = index_articles(via_proxy, index_names, docs, chunk_docs=100, backoff_s=0.01)
    assert sorted(report.written) == sorted(f"s{i}" for i in range(8))
    assert list(report.permanent) == ["giant"]
    assert "too large" in report.permanent["giant"]
    assert max(proxy.bulk_sizes) == 9
    assert _stored(es, index_names) == {f"s{i}" for i in range(8)}


def test_request_level_503_is_retried_with_backoff(
    proxy: FaultProxy, via_proxy: Elasticsearch, index_names: IndexNames
) -> None:
    proxy.fail_first = 2
    report = index_articles(via_proxy, index_names, [make_doc("r1"), make_doc("r2")], max_retries=3, backoff_s=0.01)
    assert sorted(report.written) == ["r1", "r2"]
    assert proxy.bulk_sizes == [2, 2, 2]


def test_outage_mid_batch_raises_with_what_was_written(
    proxy: FaultProxy, via_proxy: Elasticsearch, es: Elasticsearch, index_names: IndexNames
) -> None:
    proxy.drop_after = 1
    docs = [make_doc(f"o{i}") for i in range(6)]
    with pytest.raises(SearchUnavailable, match="unreachable") as info:
        index_articles(via_proxy, index_names, docs, chunk_docs=3, max_retries=1, backoff_s=0.01)
    partial = info.value.partial
    assert partial is not None
    assert sorted(partial.written) == ["o0", "o1", "o2"]
    assert _stored(es, index_names) == {"o0", "o1", "o2"}


def test_a_client_given_several_nodes_goes_on_with_the_others_when_one_is_down(es_url: str) -> None:
    """WIREWATCH_ES_URL may list a cluster's nodes: requests that meet a dead node are retried on the others."""
    from tests.support.alerting import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = make_client(url=f"{dead}, {es_url}", max_retries=3)
    try:
        assert len(client.transport.node_pool.all()) == 2
        for _ in range(4):  # round the pool: the dead node is met and set aside
            assert client.cluster.health()["status"] in ("green", "yellow")
    finally:
        client.close()
    with pytest.raises(ValueError, match="no Elasticsearch URL"):
        make_client(url=" , ")
