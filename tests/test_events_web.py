"""Events through the workbench (a real server on 127.0.0.1, a real index): the article API returns them,
the search API and page filter by event type and count articles per type."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from elasticsearch import Elasticsearch

from enrich.events.extract import extract_events
from search.names import IndexNames
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, add_users, fill, login, web_settings

AMBUSH = "On Sunday, JNIM fighters ambushed an army convoy near Djibo, killing 12 soldiers."
ARREST = "Police arrested three suspects in Niamey on Monday."


def _doc(doc_id: str, text: str, groups: list[tuple[str, int, int]]) -> dict[str, object]:
    doc = make_doc(doc_id, text=text, published_at="2026-12-07T09:00:00+00:00")
    events = extract_events(text, "en", groups=groups, published=date(2026, 12, 7))
    return {**doc, "events": [e.to_dict() for e in events]}


@pytest.fixture(scope="module")
def ana(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=True)
    try:
        with WebServer(settings) as srv:
            jnim = AMBUSH.index("JNIM")
            docs = [_doc("ambush", AMBUSH, [("jnim", jnim, jnim + 4)]), _doc("arrest", ARREST, []),
                    make_doc("calm", text="The council met on Monday.")]  # fmt: skip
            fill(es, IndexNames(prefix=prefix), docs)
            add_users(settings)
            client = login(srv.url, "ana")
            yield client
            client.close()
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def test_the_article_api_returns_the_events(ana: httpx.Client) -> None:
    got = ana.get("/api/v1/articles/ambush")
    assert got.status_code == 200
    [event] = got.json()["events"]
    assert (event["type"], event["actor_ids"], event["fatalities"], event["date"]) == (
        "attack",
        ["jnim"],
        12,
        "2026-12-06",
    )
    assert event["sentence"]["text"] == AMBUSH


def test_search_filters_by_event_type_and_counts_articles_per_type(ana: httpx.Client) -> None:
    every = ana.get("/api/v1/search", params={"collapse": "0"}).json()
    assert {b["value"]: b["count"] for b in every["facets"]["event_types"]} == {"attack": 1, "arrest": 1}
    attacks = ana.get("/api/v1/search", params={"event_type": "attack", "collapse": "0"}).json()
    assert [h["id"] for h in attacks["hits"]] == ["ambush"]
    either = ana.get("/api/v1/search", params=[("event_type", "attack"), ("event_type", "arrest")]).json()
    assert either["total"] == 2
    page = ana.get("/search", params={"event_type": "arrest"})
    assert page.status_code == 200 and "event arrest" in page.text and "Events" in page.text
