"""The seed feeds end to end through ingest: the first pass yields the seed article and a recorded 404 per
feed; once the states are committed, the second pass gets 304s and fetches nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from ingest.collect import CollectOptions, collect
from ingest.extract import Article
from ingest.feedlist import FeedSpec, load_feed_list
from ingest.fetch import Fetcher
from ingest.pool import ExtractPool
from ingest.state import MemoryFeedStateStore, load_states
from search.names import IndexNames
from seeds.server import ARTICLE_PATH, SeedServer
from tests.support.ingest_servers import fast_policy

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
EXPECTED = json.loads((SEEDS / "expected.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Rig:
    server: SeedServer
    feeds: list[FeedSpec]
    fetcher: Fetcher
    pool: ExtractPool


def _rig(feed_ids: set[str]) -> Iterator[Rig]:
    with SeedServer() as server, Fetcher(fast_policy()) as fetcher, ExtractPool(workers=1, deadline_s=20) as pool:
        feeds = [f for f in load_feed_list(SEEDS / "feeds.yaml", base_url=server.base_url) if f.id in feed_ids]
        yield Rig(server, feeds, fetcher, pool)


@pytest.fixture()
def rig() -> Iterator[Rig]:
    """The English seed's two feeds (RSS and Atom), which link the same article."""
    yield from _rig({"seed-rss", "seed-atom"})


@pytest.fixture()
def companion_rig() -> Iterator[Rig]:
    """The French and Arabic outlets' feeds."""
    yield from _rig({"seed-fr", "seed-ar"})


def _pass(rig: Rig, store: MemoryFeedStateStore, index: set[str], now: datetime) -> Any:
    states = load_states(store, [f.id for f in rig.feeds])
    return collect(
        rig.feeds,
        states,
        fetcher=rig.fetcher,
        pool=rig.pool,
        known_ids=lambda ids: index & set(ids),
        now=now,
        options=CollectOptions(),
    )


def test_first_pass_yields_the_seed_article_and_the_404s(rig: Rig) -> None:
    batch = _pass(rig, MemoryFeedStateStore(), set(), NOW)
    assert len(batch.articles) == 1
    article: Article = batch.articles[0]
    assert article.title == EXPECTED["title"]
    assert " ".join(article.text.split()) == " ".join(EXPECTED["text"].split())
    for snippet in EXPECTED["boilerplate"]:
        assert snippet not in article.text
    assert article.published_at == datetime.fromisoformat(EXPECTED["published_at"]) and article.date_source == "page"
    assert (article.author, article.site_name, article.language) == (
        EXPECTED["author"],
        EXPECTED["site_name"],
        EXPECTED["language"],
    )
    assert article.canonical_url == rig.server.article_url and article.source == "seed-rss"
    failed = {(o.feed_id, o.detail) for o in batch.outcomes if o.state == "failed"}
    assert failed == {("seed-rss", "HTTP 404 Not Found"), ("seed-atom", "HTTP 404 Not Found")}
    # The Atom entry's share link (utm_*) canonicalises to the same article: one fetch, one duplicate.
    assert [o.feed_id for o in batch.outcomes if o.state == "duplicate"] == ["seed-atom"]
    assert [h.path for h in rig.server.hits].count(ARTICLE_PATH) == 1
    assert batch.counts({article.id}) == {
        "indexed": 1,
        "duplicate": 1,
        "not_modified": 0,
        "skipped": 0,
        "failed": 2,
        "total": 4,
    }


def test_companion_feeds_yield_the_french_and_arabic_articles(companion_rig: Rig) -> None:
    batch = _pass(companion_rig, MemoryFeedStateStore(), set(), NOW)
    assert batch.counts({a.id for a in batch.articles})["indexed"] == 2 and batch.offered == 2
    by_lang = {a.language: a for a in batch.articles}
    for lang, expected in EXPECTED["companions"].items():
        article = by_lang[lang]
        assert (article.source, article.title) == (f"seed-{lang}", expected["title"])
        assert article.text == expected["text"]
        assert (article.author, article.site_name) == (expected["author"], expected["site_name"])
        assert article.published_at == datetime.fromisoformat(expected["published_at"])
        assert article.canonical_url == companion_rig.server.companion_urls[lang]
        for snippet in expected["boilerplate"]:
            assert snippet not in article.text, snippet


def test_second_pass_gets_304s_and_fetches_nothing(rig: Rig) -> None:
    store, index = MemoryFeedStateStore(), set()
    first = _pass(rig, store, index, NOW)
    index |= {a.id for a in first.articles}  # the pipeline wrote them
    store.save(first.states_to_commit(index))
    hits_before = len(rig.server.hits)
    second = _pass(rig, store, index, NOW + timedelta(hours=1))
    new_hits = rig.server.hits[hits_before:]
    assert sorted((h.path, h.status) for h in new_hits) == [("/atom.xml", 304), ("/rss.xml", 304)]
    assert [p.status for p in second.polls] == ["not_modified", "not_modified"]
    assert second.articles == [] and second.offered == 0


def test_feeds_are_not_polled_before_they_are_due(rig: Rig) -> None:
    store = MemoryFeedStateStore()
    first = _pass(rig, store, set(), NOW)
    store.save(first.states_to_commit({a.id for a in first.articles}))
    hits_before = len(rig.server.hits)
    early = _pass(rig, store, set(), NOW + timedelta(minutes=5))  # interval 900 s, ttl 15 min
    assert early.polls == [] and sorted(early.not_due) == ["seed-atom", "seed-rss"]
    assert len(rig.server.hits) == hits_before


def test_an_unwritten_article_keeps_its_feed_state_so_nothing_is_lost(rig: Rig) -> None:
    store = MemoryFeedStateStore()
    first = _pass(rig, store, set(), NOW)
    store.save(first.states_to_commit(set()))  # the index write failed: nothing durable
    assert "seed-rss" not in store.states
    again = _pass(rig, store, set(), NOW + timedelta(minutes=1))
    assert [a.id for a in again.articles] == [a.id for a in first.articles]


def _document(article: Article) -> dict[str, Any]:
    """The pipeline's article document, with no tags (enrich is not part of this test)."""
    from enrich.tags import Tags
    from wirewatch.documents import article_document

    return article_document(article, Tags())


def test_with_elasticsearch_known_ids_and_feed_state(rig: Rig, es: Elasticsearch, index_names: IndexNames) -> None:
    """The real search side: existing_ids skips indexed entries, EsFeedStateStore holds the committed states."""
    from search.bulk import index_articles
    from search.feedstate import EsFeedStateStore
    from search.indices import setup_indices
    from search.known import existing_ids

    setup_indices(es, index_names)
    store = EsFeedStateStore(es, index_names)

    def known(ids: list[str]) -> set[str]:
        return existing_ids(es, index_names, ids)

    def one_pass(now: datetime, only_due: bool = True) -> Any:
        states = load_states(store, [f.id for f in rig.feeds])
        return collect(
            rig.feeds,
            states,
            fetcher=rig.fetcher,
            pool=rig.pool,
            known_ids=known,
            now=now,
            options=CollectOptions(only_due=only_due),
        )

    first = one_pass(NOW)
    report = index_articles(es, index_names, [_document(a) for a in first.articles])
    written = set(report.durable)
    assert written == {a.id for a in first.articles}
    store.save(first.states_to_commit(written))
    assert set(store.load(["seed-rss", "seed-atom"])) == {"seed-rss", "seed-atom"}
    # Forget the validators (a changed feed body): the entries are re-read, and the article is known already.
    store.save(
        {
            fid: {**state, "etag": None, "last_modified": None, "body_hash": None, "seen_ids": []}
            for fid, state in store.load(["seed-rss", "seed-atom"]).items()
        }
    )
    second = one_pass(NOW + timedelta(hours=1))
    assert second.articles == []
    duplicates = {o.feed_id: o.detail for o in second.outcomes if o.state == "duplicate"}
    assert duplicates == {"seed-rss": "already indexed", "seed-atom": "same link as an entry of feed seed-rss"}
    assert ARTICLE_PATH not in [h.path for h in rig.server.hits[-4:]]


def test_unchanged_body_without_validators_does_no_further_work() -> None:
    """A server with no ETag or Last-Modified: the body hash tells the second poll nothing changed."""
    from ingest.feeds import poll_feed
    from ingest.state import Backoff, FeedState
    from tests.support.ingest_servers import FaultServer, respond

    body = (
        '<rss version="2.0"><channel><title>t</title><item><title>a</title><link>http://x.org/a</link>'
        "</item></channel></rss>"
    )
    with (
        FaultServer({"/f.xml": respond(200, body, "application/rss+xml")}) as server,
        Fetcher(fast_policy()) as fetcher,
    ):
        spec = FeedSpec(id="plain", url=server.url("/f.xml"))
        first = poll_feed(spec, FeedState(feed_id="plain"), fetcher=fetcher, now=NOW, max_entries=10, backoff=Backoff())
        second = poll_feed(
            spec, first.proposed_state, fetcher=fetcher, now=NOW + timedelta(hours=1), max_entries=10, backoff=Backoff()
        )
    assert (first.status, len(first.items)) == ("ok", 1)
    assert (second.status, second.items, second.http_status) == ("not_modified", [], 200)
    assert "if-none-match" not in server.requests[1][1]
