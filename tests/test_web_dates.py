"""Hostile dates: a feed entry dated 9999 must not break search for anyone.

A real loopback site serves the feed and its page, a real pass stores the article, a real workbench answers;
and documents with absurd dates written straight into the index prove every date histogram has bounds of its
own (the search facets, the attention chart, the API and the export)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from search.names import IndexNames
from tests.support.flow import PARAGRAPH, feed_list, serve
from tests.support.ingest_servers import FaultServer
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, corpus, fill, web_settings
from tests.test_engine_flow import make_runtime
from wirewatch.pipeline import run_pass

HOSTILE_DATE = "Fri, 31 Dec 9999 23:00:00 GMT"


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    rows = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid><pubDate>{d}</pubDate></item>"
        for t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://example.org/</link><description>d</description>{rows}</channel></rss>"
    ).encode()


def _undated_page(title: str) -> bytes:
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{PARAGRAPH * 5}</p></article></body></html>"
    ).encode()


def _everything_answers(client: httpx.Client, expected_rows: int, **params: str) -> None:
    """The search page, the search API, the attention chart and the CSV export all answer, with every row."""
    page = client.get("/search", params=params)
    assert page.status_code == 200, page.text[:500]
    api = client.get("/api/v1/search", params={**params, "collapse": "0", "limit": "100"})
    assert api.status_code == 200, api.text[:500]
    assert api.json()["total"] == expected_rows
    chart = client.get("/api/v1/attention", params=params)
    assert chart.status_code == 200, chart.text[:500]
    assert len(chart.json()["buckets"]) <= 1000
    export = client.get("/api/v1/search/export", params={**params, "collapse": "0"})
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows and rows[0][0] == "id"
    assert len(rows) - 1 == min(expected_rows, 3)  # web_export_max=3 in web_settings


@pytest.fixture()
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        server.routes["/feed.xml"] = serve(
            _rss([
                ("Harbour council", server.url("/future.html"), HOSTILE_DATE),
                ("Bridge repairs", server.url("/ancient.html"), "Mon, 01 Jan 1900 10:00:00 GMT"),
                ("Port budget", server.url("/normal.html"), "Wed, 01 May 2024 10:00:00 GMT"),
            ]),
            "application/rss+xml",
        )  # fmt: skip
        for name, title in (("future", "Harbour council"), ("ancient", "Bridge repairs"), ("normal", "Port budget")):
            server.routes[f"/{name}.html"] = serve(_undated_page(title), "text/html")
        yield server


def test_a_feed_entry_dated_9999_is_set_aside_and_search_still_answers(
    es: Elasticsearch, es_url: str, index_prefix: str, site: FaultServer, receiver: object, tmp_path: Path
) -> None:
    feeds = feed_list(tmp_path / "feeds.yaml", {"hostile": site.url("/feed.xml")})
    rt = make_runtime(es_url, index_prefix, feeds, receiver.url, tmp_path)  # type: ignore[attr-defined]
    try:
        with rt.tools() as tools:
            summary = run_pass(rt, tools)
    finally:
        rt.es.close()
    assert summary.entries["indexed"] == 3, summary.to_dict()
    names = IndexNames(prefix=index_prefix)
    es.indices.refresh(index=names.articles)
    stored = {
        h["_source"]["title"]: h["_source"]
        for h in es.search(index=names.articles, size=10, query={"match_all": {}})["hits"]["hits"]
    }
    future, ancient, normal = stored["Harbour council"], stored["Bridge repairs"], stored["Port budget"]
    assert future["published_at"] is None and ancient["published_at"] is None
    assert future["extraction"]["date_source"] == "none"
    assert future["extraction"]["date_set_aside"] == ["feed 9999-12-31T23:00:00+00:00"]
    assert ancient["extraction"]["date_set_aside"] == ["feed 1900-01-01T10:00:00+00:00"]
    assert normal["published_at"].startswith("2024-05-01T10:00:00")
    assert normal["extraction"]["date_source"] == "feed" and "date_set_aside" not in normal["extraction"]
    settings = web_settings(es_url, index_prefix, tmp_path / "web", auth=False)
    with WebServer(settings) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        _everything_answers(client, 3)


@pytest.mark.parametrize("absurd", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00Z", "1850-06-01T00:00:00Z"])
def test_a_stored_document_with_an_absurd_date_breaks_no_histogram(
    es: Elasticsearch, es_url: str, index_prefix: str, tmp_path: Path, absurd: str
) -> None:
    names = IndexNames(prefix=index_prefix)
    settings = web_settings(es_url, index_prefix, tmp_path / "web", auth=False)
    with WebServer(settings) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        docs = corpus()
        # straight into the index, past every bound at the entry: what an older version may have stored
        docs.append(make_doc("absurd", title="Absurd date", text="An attack was reported.", published_at=absurd))
        fill(es, names, docs)
        _everything_answers(client, len(docs))
        _everything_answers(client, 2, q="attack", group="isis")
        # a window the analyst types may be as wide as the index allows: the buckets stay capped
        _everything_answers(client, len(docs), since="0001-01-01", until="9999-12-31")
        chart = client.get("/api/v1/attention", params={"since": "0001-01-01", "until": "9999-12-31"}).json()
        assert all(b["date"] >= "1990-01-01" for b in chart["buckets"]), chart["buckets"][:3]
