"""The workbench when Elasticsearch fails, and hostile cursors: a real uvicorn server over the real node, with a
real proxy between them (tests/support/proxy.FaultProxy) that answers 503 or cuts the connection on the
requests a test picks. Exports fail before their first byte or end with an error line; no page or JSON error
names the node's address; a cursor is validated before it is decoded."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from elasticsearch import Elasticsearch

from search.names import IndexNames
from tests.support.proxy import FaultProxy
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, add_users, corpus, fill, login
from wirewatch.settings import load_settings

EXTRA = 110  # past one export page (100 rows): the export reads a second page


@pytest.fixture(scope="module")
def proxied(
    es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WebServer, FaultProxy]]:
    """Authentication on, the server talking to the node through a FaultProxy; the corpus plus EXTRA articles."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    tmp = tmp_path_factory.mktemp("web-faults")
    extra = [make_doc(f"bulk-{i:03d}", title=f"Bulletin {i}", published_at=f"2024-03-{1 + i % 28:02d}T08:00:00+00:00")
             for i in range(EXTRA)]  # fmt: skip
    with FaultProxy(es_url) as proxy:
        settings = load_settings(
            es_url=proxy.url, es_index_prefix=prefix, web_auth=True, alerts_file=tmp / "alerts.jsonl",
            summary_file=tmp / "last-pass.json", web_export_max=1000, es_max_retries=1,
        )  # fmt: skip
        try:
            with WebServer(settings) as srv:
                fill(es, IndexNames(prefix=prefix), corpus() + extra)
                add_users(settings)
                yield srv, proxy
        finally:
            es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True)


@pytest.fixture(scope="module")
def vera(proxied: tuple[WebServer, FaultProxy]) -> Iterator[httpx.Client]:
    client = login(proxied[0].url, "vera")
    yield client
    client.close()


@pytest.fixture()
def proxy(proxied: tuple[WebServer, FaultProxy]) -> Iterator[FaultProxy]:
    """The proxy, forwarding everything again after the test."""
    yield proxied[1]
    proxied[1].fail, proxied[1].mode = None, "503"
    proxied[1].start()


@pytest.mark.parametrize("mode", ["503", "cut"])
def test_an_export_whose_first_page_fails_answers_503_before_any_byte(
    vera: httpx.Client, proxy: FaultProxy, mode: str
) -> None:
    proxy.fail, proxy.mode = r"_search", mode  # every search; sign-in (a document read) still goes through
    for fmt in ("csv", "json"):
        done = vera.get("/api/v1/search/export", params={"format": fmt})
        assert done.status_code == 503, done.text
        assert done.headers["content-type"].startswith("application/json")
        body = done.json()
        assert body["error"] == "Elasticsearch unavailable" and "searching articles" in body["message"]
        assert body["hint"] == "try again in a moment"
    assert proxy.faults > 0


def test_an_export_cut_midway_ends_with_a_visible_error_line(vera: httpx.Client, proxy: FaultProxy) -> None:
    proxy.fail, proxy.mode = r'"search_after"', "cut"  # the second page of a collapse=0 export, not the first
    done = vera.get("/api/v1/search/export", params={"format": "csv", "collapse": "0", "sort": "newest"})
    assert done.status_code == 200
    rows = list(csv.reader(io.StringIO(done.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["id", "title", "url", "source", "published_at", "groups"]
    assert len(rows) == 1 + 100 + 1  # the header, the first page, the error line
    assert rows[-1] == ["error: export cut short after 100 row(s): Elasticsearch failed while reading the next "
                        "page; this file is incomplete, export again"]  # fmt: skip
    lines = vera.get("/api/v1/search/export", params={"format": "json", "collapse": "0"}).text.splitlines()
    assert len(lines) == 101 and "id" in json.loads(lines[0])
    assert json.loads(lines[-1]) == {"error": "export incomplete", "rows": 100, "message": rows[-1][0][7:]}
    proxy.fail = None  # and unbroken, the whole set, no error line
    whole = list(csv.reader(io.StringIO(vera.get("/api/v1/search/export", params={"collapse": "0"}).text)))
    assert len(whole) == 1 + EXTRA + len(corpus()) and not whole[-1][0].startswith("error")


def test_errors_shown_to_a_viewer_never_name_the_nodes_address(vera: httpx.Client, proxy: FaultProxy) -> None:
    proxy.stop()  # the node's address refuses connections: the client's error names host and port
    for path in ("/search", "/api/v1/search", "/api/v1/feeds"):
        shown = vera.get(path, params={"q": "attack"})
        assert shown.status_code == 503, shown.text
        assert "unreachable" in shown.text  # still says what happened
        assert str(proxy.port) not in shown.text and "127.0.0.1" not in shown.text and "host=" not in shown.text
    proxy.start()
    assert vera.get("/api/v1/search").status_code == 200


def _cursor(data: object) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_hostile_cursors_are_refused_with_400_not_500(vera: httpx.Client) -> None:
    hostile = [
        _cursor(b"[" * 5000),  # json.loads recursed until RecursionError
        _cursor(b"[" * 300),  # short enough to decode: nested lists, not a cursor
        _cursor({"s": "relevance", "o": 10**30}),  # an offset past Elasticsearch's result window
        _cursor({"s": "relevance", "o": 10_000}),
        "A" * 5000,
    ]
    for after in hostile:
        for collapse in ("1", "0"):
            api = vera.get("/api/v1/search", params={"after": after, "collapse": collapse})
            assert api.status_code == 400, (after[:40], api.text)
            assert api.json()["field"] == "after" and "cursor" in api.json()["message"]
            page = vera.get("/search", params={"after": after, "collapse": collapse})
            assert page.status_code == 400 and "cursor" in page.text
    deep = vera.get("/api/v1/search", params={"after": _cursor({"s": "relevance", "o": 9_990}), "limit": 50})
    assert deep.status_code == 200 and deep.json()["next"] is None  # the window's end: no page past it
