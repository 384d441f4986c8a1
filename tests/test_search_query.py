"""Analyst search on a real node: highlighting, phrases, filters, facets, cursors and date parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from search.bulk import index_articles
from search.errors import IndexMissing, InvalidCursor, QuerySyntaxError
from search.indices import setup_indices
from search.names import IndexNames
from search.querying.query import SearchRequest, parse_when, search_articles
from tests.support.search_docs import make_doc, seed_doc

CORPUS = [
    seed_doc("seed"),
    make_doc(
        "army-day",
        title="Parade in Benghazi",
        text="The Libyan National Army held a parade. Khalifa Haftar spoke to the troops.",
        source="wire-a",
        published_at="2024-05-03T09:00:00+00:00",
        groups=[],
        entities={"PERSON": ["Khalifa Haftar"], "ORG": ["Libyan National Army"]},
    ),
    make_doc(
        "sahel",
        title="Attack in the Sahel",
        text="Fighters of JNIM attacked an army post. The Islamic State claimed a second attack nearby.",
        source="wire-b",
        published_at="2024-05-10T09:00:00+00:00",
        groups=["jnim", "isis"],
        entities={"ORG": ["JNIM"], "GPE": ["Mali"]},
    ),
    make_doc(
        "somalia",
        title="Shabaab bombing in Mogadishu",
        text="Al-Shabaab bombings hit Mogadishu. Officials blamed the group for the attacks.",
        source="wire-a",
        published_at="2024-06-01T09:00:00+00:00",
        language="en",
        groups=["shabaab"],
        entities={"GPE": ["Somalia"]},
    ),
    make_doc(
        "french",
        title="Attaque au Sahel",
        text="Une attaque revendiquée par l'État islamique.",
        source="wire-b",
        published_at="2024-06-02T09:00:00+00:00",
        language="fr",
        groups=["isis"],
    ),
]


@pytest.fixture()
def corpus(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    setup_indices(es, index_names)
    report = index_articles(es, index_names, CORPUS)
    assert report.failed == {}
    es.indices.refresh(index=index_names.articles)
    return index_names


def _ids(es: Elasticsearch, names: IndexNames, **kwargs: object) -> list[str]:
    return sorted(h.id for h in search_articles(es, names, SearchRequest(**kwargs)).hits)  # type: ignore[arg-type]


def test_belmokhtar_finds_the_seed_with_the_name_highlighted(es: Elasticsearch, corpus: IndexNames) -> None:
    result = search_articles(es, corpus, SearchRequest(query="Belmokhtar"))
    assert result.total == 1
    hit = result.hits[0]
    assert hit.id == "seed"
    assert hit.url == "http://127.0.0.1/seed"
    assert hit.source == "seed-rss"
    assert hit.groups == ["isis", "aqim"]
    assert hit.published_at == "2018-02-01T08:00:00+00:00"
    assert any("<em>Belmokhtar</em>" in p for p in hit.passages)


def test_exact_phrase_needs_the_words_in_order(es: Elasticsearch, corpus: IndexNames) -> None:
    assert _ids(es, corpus, query='"Libyan National Army"') == ["army-day", "seed"]
    assert _ids(es, corpus, query='"Libyan Army National"') == []
    result = search_articles(es, corpus, SearchRequest(query='"Libyan National Army"', sort="newest"))
    assert any("<em>Libyan National Army</em>" in p for p in result.hits[0].passages)


def test_stemming_boolean_and_prefix(es: Elasticsearch, corpus: IndexNames) -> None:
    assert _ids(es, corpus, query="bombing") == ["seed", "somalia"]  # "bombings" in both
    assert _ids(es, corpus, query="attack -Mogadishu") == ["sahel", "seed"]
    assert _ids(es, corpus, query="Mogadishu OR Benghazi") == ["army-day", "somalia"]
    assert _ids(es, corpus, query="(Mogadishu OR Benghazi) AND Haftar") == ["army-day"]
    assert _ids(es, corpus, query="Mogad*") == ["somalia"]


def test_filters_narrow(es: Elasticsearch, corpus: IndexNames) -> None:
    assert _ids(es, corpus, groups=["isis"]) == ["french", "sahel", "seed"]
    assert _ids(es, corpus, groups=["isis", "shabaab"]) == ["french", "sahel", "seed", "somalia"]
    assert _ids(es, corpus, entities=["Khalifa Haftar"]) == ["army-day", "seed"]
    assert _ids(es, corpus, entities=["PERSON:Khalifa Haftar", "ORG:Libyan National Army"]) == ["army-day"]
    assert _ids(es, corpus, entities=["GPE:Khalifa Haftar"]) == []
    assert _ids(es, corpus, sources=["wire-b"]) == ["french", "sahel"]
    assert _ids(es, corpus, lang="fr") == ["french"]
    since = datetime(2024, 5, 5, tzinfo=UTC)
    assert _ids(es, corpus, since=since) == ["french", "sahel", "somalia"]
    assert _ids(es, corpus, since=since, until=parse_when("2024-06-01", end_of_day=True)) == [
        "sahel",
        "somalia",
    ]
    assert _ids(es, corpus, query="attack", groups=["isis"], sources=["wire-b"], lang="en") == ["sahel"]


def test_facet_counts_match_the_documents(es: Elasticsearch, corpus: IndexNames) -> None:
    facets = search_articles(es, corpus, SearchRequest()).facets
    groups = {b["value"]: b["count"] for b in facets["groups"]}
    assert groups == {"isis": 3, "aqim": 1, "jnim": 1, "shabaab": 1}
    assert {b["value"]: b["count"] for b in facets["sources"]} == {"wire-a": 2, "wire-b": 2, "seed-rss": 1}
    persons = {b["value"]: b["count"] for b in facets["entities"]["PERSON"]}
    assert persons == {"Khalifa Haftar": 2, "Mokhtar Belmokhtar": 1}
    assert {b["value"]: b["count"] for b in facets["entities"]["GPE"]} == {
        "Libya": 1,
        "Syria": 1,
        "Mali": 1,
        "Somalia": 1,
    }
    assert facets["dates"]["interval"] == "month"
    months = {b["date"][:7]: b["count"] for b in facets["dates"]["buckets"] if b["count"]}
    assert months == {"2018-02": 1, "2024-05": 2, "2024-06": 2}
    narrowed = search_articles(es, corpus, SearchRequest(query="attack", groups=["isis"])).facets
    assert {b["value"]: b["count"] for b in narrowed["groups"]} == {"isis": 2, "aqim": 1, "jnim": 1}


def test_cursor_pages_cover_everything_once(es: Elasticsearch, corpus: IndexNames) -> None:
    for sort in ("newest", "relevance"):
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            result = search_articles(es, corpus, SearchRequest(sort=sort, limit=2, after=after))  # type: ignore[arg-type]
            seen.extend(h.id for h in result.hits)
            pages += 1
            if result.next is None:
                break
            after = result.next
        assert sorted(seen) == sorted(d["id"] for d in CORPUS), sort
        assert pages == 3
    newest = search_articles(es, corpus, SearchRequest(sort="newest", limit=5))
    assert [h.id for h in newest.hits] == ["french", "somalia", "sahel", "army-day", "seed"]


def test_bad_inputs_are_clear_errors(es: Elasticsearch, corpus: IndexNames, index_prefix: str) -> None:
    with pytest.raises(QuerySyntaxError, match="unterminated phrase"):
        search_articles(es, corpus, SearchRequest(query='"Libyan'))
    with pytest.raises(InvalidCursor):
        search_articles(es, corpus, SearchRequest(after="not-a-cursor"))
    first = search_articles(es, corpus, SearchRequest(sort="newest", limit=1))
    with pytest.raises(InvalidCursor, match="--sort newest"):
        search_articles(es, corpus, SearchRequest(sort="relevance", after=first.next))
    with pytest.raises(IndexMissing, match="es setup"):
        search_articles(es, IndexNames(prefix=f"{index_prefix}none-"), SearchRequest())
    with pytest.raises(ValueError, match="sort"):
        SearchRequest(sort="oldest")  # type: ignore[arg-type]


def test_limit_is_capped(es: Elasticsearch, corpus: IndexNames) -> None:
    result = search_articles(es, corpus, SearchRequest(limit=10_000))
    assert len(result.hits) == 5
    assert result.next is None


def test_parse_when() -> None:
    now = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    assert parse_when("7d", now=now) == datetime(2024, 5, 3, 12, 0, tzinfo=UTC)
    assert parse_when("24h", now=now) == datetime(2024, 5, 9, 12, 0, tzinfo=UTC)
    assert parse_when("2w", now=now) == datetime(2024, 4, 26, 12, 0, tzinfo=UTC)
    assert parse_when("30m", now=now) == datetime(2024, 5, 10, 11, 30, tzinfo=UTC)
    assert parse_when("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_when("2024-05-01", end_of_day=True).date().isoformat() == "2024-05-01"
    assert parse_when("2024-05-01", end_of_day=True).hour == 23
    assert parse_when("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    for bad in ("yesterday", "7y", "2024-13-01", ""):
        with pytest.raises(ValueError, match="not a date"):
            parse_when(bad)
