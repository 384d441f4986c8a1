"""The seed feeds end to end through the engine: the first pass yields the seed article and a recorded 404 per
feed; once the states are committed, the second pass gets 304s and fetches nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.feedlist import FeedSpec, load_feed_list
from ingest.feeds import poll_feed
from ingest.fetch import Fetcher
from ingest.pool import ExtractPool
from ingest.state import Backoff, FeedState
from ingest.urls import article_id, canonical_url
from search.feedstate import EsFeedStateStore
from seeds.server import ARTICLE_PATH, SeedServer
from tests.support.engine_passes import EnginePasses, engine_passes
from tests.support.ingest_servers import FaultServer, fast_policy, respond
from tests.support.proxy import HoldingProxy

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
EXPECTED = json.loads((SEEDS / "expected.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractPool]:
    with ExtractPool(workers=1, deadline_s=20) as opened:
        yield opened


@pytest.fixture()
def seeds() -> Iterator[SeedServer]:
    with SeedServer() as server:
        yield server


def _feeds(server: SeedServer, ids: set[str]) -> list[FeedSpec]:
    return [f for f in load_feed_list(SEEDS / "feeds.yaml", base_url=server.base_url) if f.id in ids]


@pytest.fixture()
def rig(es_url: str, tmp_path: Path, seeds: SeedServer, pool: ExtractPool) -> Iterator[EnginePasses]:
    """The English seed's two feeds (RSS and Atom), which link the same article."""
    feeds = _feeds(seeds, {"seed-rss", "seed-atom"})
    with Fetcher(fast_policy()) as fetcher, engine_passes(es_url, tmp_path, feeds, fetcher=fetcher, pool=pool) as runs:
        yield runs


def test_first_pass_yields_the_seed_article_and_the_404s(rig: EnginePasses, seeds: SeedServer) -> None:
    summary = rig.run(NOW)
    [article] = rig.articles()
    assert article["title"] == EXPECTED["title"]
    assert " ".join(article["text"].split()) == " ".join(EXPECTED["text"].split())
    for snippet in EXPECTED["boilerplate"]:
        assert snippet not in article["text"]
    published = datetime.fromisoformat(article["published_at"])
    assert published == datetime.fromisoformat(EXPECTED["published_at"])
    assert article["extraction"]["date_source"] == "page"
    assert (article["author"], article["site_name"], article["language"]) == (
        EXPECTED["author"], EXPECTED["site_name"], EXPECTED["language"],
    )  # fmt: skip
    # the two feeds are polled at once: the one that claims the shared entry first gives the article its source
    assert article["canonical_url"] == seeds.article_url and article["source"] in {"seed-rss", "seed-atom"}
    assert sorted(f.reason for f in summary.failures) == ["HTTP 404 Not Found", "HTTP 404 Not Found"]
    # The Atom entry's share link (utm_*) canonicalises to the same article: one fetch, one duplicate.
    assert [h.path for h in seeds.hits].count(ARTICLE_PATH) == 1
    assert dict(summary.entries) == {"indexed": 1, "duplicate": 1, "failed": 2}
    assert summary.offered == 4 and summary.accounted


def test_companion_feeds_yield_the_french_and_arabic_articles(
    es_url: str, tmp_path: Path, seeds: SeedServer, pool: ExtractPool
) -> None:
    with Fetcher(fast_policy()) as fetcher, engine_passes(
        es_url, tmp_path, _feeds(seeds, {"seed-fr", "seed-ar"}), fetcher=fetcher, pool=pool
    ) as passes:  # fmt: skip
        summary = passes.run(NOW)
        articles = passes.articles()
    assert summary.entries["indexed"] == 2 and summary.offered == 2
    by_lang = {a["language"]: a for a in articles}
    for lang, expected in EXPECTED["companions"].items():
        article = by_lang[lang]
        assert (article["source"], article["title"]) == (f"seed-{lang}", expected["title"])
        assert article["text"] == expected["text"]
        assert (article["author"], article["site_name"]) == (expected["author"], expected["site_name"])
        assert datetime.fromisoformat(article["published_at"]) == datetime.fromisoformat(expected["published_at"])
        assert article["canonical_url"] == seeds.companion_urls[lang]
        for snippet in expected["boilerplate"]:
            assert snippet not in article["text"], snippet


def test_second_pass_gets_304s_and_fetches_nothing(rig: EnginePasses, seeds: SeedServer) -> None:
    rig.run(NOW)
    hits_before = len(seeds.hits)
    second = rig.run(NOW + timedelta(hours=1))
    new_hits = seeds.hits[hits_before:]
    assert sorted((h.path, h.status) for h in new_hits) == [("/atom.xml", 304), ("/rss.xml", 304)]
    assert dict(second.feeds) == {"not_modified": 2}
    assert second.offered == 0 and not second.entries


def test_feeds_are_not_polled_before_they_are_due(rig: EnginePasses, seeds: SeedServer) -> None:
    rig.run(NOW)
    hits_before = len(seeds.hits)
    early = rig.run(NOW + timedelta(minutes=5))  # interval 900 s, ttl 15 min
    assert dict(early.feeds) == {"not_due": 2}
    assert len(seeds.hits) == hits_before


def test_an_unwritten_article_keeps_its_feed_state_so_nothing_is_lost(
    es_url: str, tmp_path: Path, seeds: SeedServer, pool: ExtractPool
) -> None:
    feeds = _feeds(seeds, {"seed-rss", "seed-atom"})
    seed_id = article_id(canonical_url(seeds.article_url))
    with HoldingProxy(es_url, fail_ids={seed_id}) as proxy, Fetcher(fast_policy()) as fetcher, engine_passes(
        proxy.url, tmp_path, feeds, fetcher=fetcher, pool=pool, bulk_max_retries=0
    ) as passes:  # fmt: skip
        first = passes.run(NOW)  # the article's bulk item fails (503): nothing durable
        assert first.entries["indexed"] == 0 and first.entries["failed"] >= 1
        held = [passes.state(f.id) for f in feeds]
        assert not any(state.seen_ids for state in held)  # the cursors did not move past the article
        proxy.fail_ids.clear()
        again = passes.run(NOW + timedelta(hours=7))  # past the failure's backoff
        assert again.entries["indexed"] == 1
        assert [a["canonical_url"] for a in passes.articles()] == [seeds.article_url]


def test_entries_already_indexed_are_not_fetched_again(rig: EnginePasses, seeds: SeedServer) -> None:
    """Validators forgotten (a changed feed body): the entries are read again, and the article is known."""
    rig.run(NOW)
    states = EsFeedStateStore(rig.rt.es, rig.rt.names)
    states.save({
        fid: {**state, "etag": None, "last_modified": None, "body_hash": None, "seen_ids": []}
        for fid, state in states.load(["seed-rss", "seed-atom"]).items()
    })  # fmt: skip
    hits_before = len(seeds.hits)
    second = rig.run(NOW + timedelta(hours=1))
    assert second.entries["duplicate"] == 2 and second.entries["indexed"] == 0
    assert ARTICLE_PATH not in [h.path for h in seeds.hits[hits_before:]]


def test_unchanged_body_without_validators_does_no_further_work() -> None:
    """A server with no ETag or Last-Modified: the body hash tells the second poll nothing changed."""
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
