"""Entries settle in a named state so no feed is frozen (issue 11, defects 4 and 5), on the real node.

- An extraction that passed its deadline is transient: the entry is retried on later passes (attempts are
  kept in the feed state stored in Elasticsearch) and, after ``extract_max_attempts``, fails for good.
- A hostile page (10,000 emoji as its site name and author) is indexed with those values cut to size, and a
  document the index refuses for good still lets its feed's state be committed, the entry failed.

The extraction deadline is forced to expire by a pool whose deadline is zero: no page can be extracted and
sent back before it, so the worker is killed exactly as a slow page on a busy machine would have it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from ingest.fetch import Fetcher
from ingest.pool import ExtractPool
from ingest.state import FeedState, load_states
from ingest.urls import article_id, canonical_url
from search.feedstate import EsFeedStateStore
from tests.support.ingest_servers import FaultServer, respond
from wirewatch.engine import run_engine
from wirewatch.pipeline import ensure_indices
from wirewatch.runtime import PassTools, Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.steps import Step
from wirewatch.summary import PassSummary

FEED_ID = "wire"
PAGE = "/p/story.html"
EMOJI = "\U0001f600" * 10_000  # 40,000 UTF-8 bytes: over Lucene's 32,766-byte term limit
PARAGRAPHS = "".join(
    f"<p>Paragraph {i}: negotiators met again near the port of Tripoli, where the delegation from Misrata "
    "presented its proposals for a ceasefire along the coastal road.</p>"
    for i in range(6)
)


def article_html(*, site_name: str = "The Coastal Wire", author: str = "Desk Staff") -> str:
    return (
        f"<html lang='en'><head><title>Talks in Tripoli</title><meta name='author' content='{author}'>"
        f"<meta property='og:site_name' content='{site_name}'></head>"
        f"<body><article><h1>Talks in Tripoli</h1>{PARAGRAPHS}</article></body></html>"
    )


def feed_xml(link: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>http://x/</link><item><title>Talks in Tripoli</title><link>{link}</link><guid>{link}</guid>"
        "</item></channel></rss>"
    )


@dataclass
class Site:
    rt: Runtime
    server: FaultServer
    entry_id: str

    def state(self) -> FeedState:
        return load_states(EsFeedStateStore(self.rt.es, self.rt.names), [FEED_ID])[FEED_ID]

    def stored_state(self) -> dict[str, object]:
        return EsFeedStateStore(self.rt.es, self.rt.names).load([FEED_ID]).get(FEED_ID, {})

    def run(self, *, deadline_s: float) -> PassSummary:
        """One ingest pass over the feed, with an extraction pool of the given deadline."""
        summary = PassSummary()
        with (
            Fetcher(self.rt.fetch_policy()) as fetcher,
            ExtractPool(workers=1, deadline_s=deadline_s) as pool,
            self.rt.tagger(ner=False) as tagger,
        ):
            run_engine(self.rt, PassTools(fetcher, pool, tagger), self.rt.feeds(), summary=summary, only_due=False)
        return summary


def make_site(tmp_path: Path, es_url: str, index_prefix: str, html: str, **settings: object) -> Iterator[Site]:
    with FaultServer() as server:
        link = server.url(PAGE)
        server.routes["/feed.xml"] = respond(200, feed_xml(link), "application/rss+xml")
        server.routes[PAGE] = respond(200, html)
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - {{id: {FEED_ID}, url: '{server.url('/feed.xml')}'}}\n")
        rt = build_runtime(
            load_settings(
                es_url=es_url,
                es_index_prefix=index_prefix,
                feeds_file=feeds,
                http_allow_loopback=True,
                http_respect_robots=False,
                ner_enabled=False,
                **settings,
            )
        )
        ensure_indices(rt)
        try:
            yield Site(rt, server, article_id(canonical_url(link)))
        finally:
            rt.es.close()


@pytest.fixture()
def site(tmp_path: Path, es_url: str, index_prefix: str) -> Iterator[Site]:
    yield from make_site(tmp_path, es_url, index_prefix, article_html(), extract_max_attempts=3)


@pytest.fixture()
def hostile_site(tmp_path: Path, es_url: str, index_prefix: str) -> Iterator[Site]:
    yield from make_site(tmp_path, es_url, index_prefix, article_html(site_name=EMOJI, author=EMOJI))


def entry_failures(summary: PassSummary) -> list[tuple[str, bool]]:
    # an entry's failure is recorded under the step where it failed (extract, index)
    return [(f.reason, f.transient) for f in summary.failures if f.stage in (Step.EXTRACT, Step.INDEX, Step.COLLECT)]


def test_a_passed_extraction_deadline_is_retried_on_a_later_pass(site: Site, es: Elasticsearch) -> None:
    first = site.run(deadline_s=0)
    [(reason, transient)] = entry_failures(first)
    assert transient and "deadline of 0 s passed" in reason and "attempt 1 of 3" in reason
    state = site.state()
    assert site.entry_id not in state.seen_ids  # not given up: the next pass takes it again
    assert state.extraction_attempts == {site.entry_id: 1}  # remembered in Elasticsearch

    second = site.run(deadline_s=30)
    assert second.entries["indexed"] == 1 and not entry_failures(second)
    assert es.get(index=site.rt.names.articles, id=site.entry_id)["_source"]["title"] == "Talks in Tripoli"
    state = site.state()
    assert site.entry_id in state.seen_ids and state.extraction_attempts == {}
    assert site.server.hits(PAGE) == 2


def test_extraction_gives_up_after_the_capped_attempts_across_passes(site: Site) -> None:
    for attempt in (1, 2):
        [(reason, transient)] = entry_failures(site.run(deadline_s=0))
        assert transient and f"attempt {attempt} of 3" in reason
        assert site.state().extraction_attempts == {site.entry_id: attempt}
    [(reason, transient)] = entry_failures(site.run(deadline_s=0))
    assert not transient and reason.startswith("extraction gave up after 3 attempts: extraction deadline")
    state = site.state()
    assert site.entry_id in state.seen_ids and state.extraction_attempts == {}

    # settled for good: even a pass that could extract it does not fetch the page again
    later = site.run(deadline_s=30)
    assert later.entries["indexed"] == 0 and not entry_failures(later)
    assert site.server.hits(PAGE) == 3


def test_a_hostile_site_name_is_indexed_cut_to_size_and_the_feed_state_moves_on(
    hostile_site: Site, es: Elasticsearch
) -> None:
    summary = hostile_site.run(deadline_s=30)
    assert not entry_failures(summary) and summary.entries["indexed"] == 1
    doc = es.get(index=hostile_site.rt.names.articles, id=hostile_site.entry_id)["_source"]
    assert doc["site_name"] and EMOJI.startswith(doc["site_name"])
    assert len(doc["site_name"].encode("utf-8")) <= 1024
    if doc["author"] is not None:  # trafilatura may reject a name this odd; if kept, it is cut too
        assert EMOJI.startswith(doc["author"]) and len(doc["author"].encode("utf-8")) <= 1024
    # the feed's state was committed: the entry is taken and the next pass does not fetch it again
    assert hostile_site.entry_id in hostile_site.state().seen_ids
    again = hostile_site.run(deadline_s=30)
    assert again.entries["indexed"] == 0 and hostile_site.server.hits(PAGE) == 1


def test_a_document_the_index_refuses_for_good_settles_its_entry_and_commits_the_feed_state(
    site: Site, es: Elasticsearch
) -> None:
    # The real node refuses every write with 400: the articles index names an ingest pipeline that does not exist.
    es.indices.put_settings(
        index=site.rt.names.articles, settings={"index.default_pipeline": "wirewatch-test-no-such-pipeline"}
    )
    summary = site.run(deadline_s=30)
    [(reason, transient)] = entry_failures(summary)
    assert not transient and reason.startswith("index refused the article: 400 illegal_argument_exception")
    assert summary.entries == {"failed": 1}
    stored = site.stored_state()
    assert stored, "the feed's state was never committed"
    assert site.entry_id in site.state().seen_ids
    assert not es.exists(index=site.rt.names.articles, id=site.entry_id)

    again = site.run(deadline_s=30)  # the entry stays failed: nothing is fetched or refused again
    assert again.entries["failed"] == 0 and site.server.hits(PAGE) == 1


def test_setup_migrates_to_keywords_with_ignore_above_and_an_oversized_value_is_accepted(
    es: Elasticsearch, index_prefix: str
) -> None:
    """The mapping's second line of defence: a keyword value past Lucene's limit stays in _source, unindexed.

    A deployment made before the fix (keywords without ignore_above) is moved to a new index version by setup.
    """
    from search.analysis import article_analysis
    from search.bulk import index_articles
    from search.indices import setup_indices
    from search.mappings import articles_mappings
    from search.names import IndexNames
    from tests.support.search_docs import make_doc

    names = IndexNames(prefix=index_prefix)
    old = articles_mappings()
    for field in ("url", "canonical_url", "site_name", "author"):
        old["properties"][field] = {"type": "keyword"}
    old["_meta"] = {"fingerprint": "before-ignore-above"}
    es.indices.create(
        index=names.articles_index(1),
        settings={"number_of_shards": 1, "analysis": article_analysis(es)},
        mappings=old,
        aliases={names.articles: {"is_write_index": True}},
    )
    assert "a1" in index_articles(es, names, [{**make_doc("a1"), "site_name": EMOJI}]).permanent  # the defect

    report = setup_indices(es, names)
    assert report.migrated_from == names.articles_index(1) and report.articles_index == names.articles_index(2)
    mapping = es.indices.get_mapping(index=names.articles_index(2)).body[names.articles_index(2)]["mappings"]
    for field in ("url", "canonical_url", "site_name", "author", "source"):
        assert mapping["properties"][field]["ignore_above"] <= 32_766 // 4, field
    written = index_articles(es, names, [{**make_doc("a2"), "site_name": EMOJI, "author": EMOJI}])
    assert written.written == ["a2"]
    assert es.get(index=names.articles, id="a2")["_source"]["site_name"] == EMOJI


def test_truncate_utf8_cuts_on_a_character_boundary() -> None:
    from wirewatch.documents import truncate_utf8

    assert truncate_utf8("\U0001f600" * 3, 11) == "\U0001f600" * 2  # 11 bytes: two 4-byte emoji, not 2.75
    assert truncate_utf8("é" * 10, 5) == "éé"
    assert truncate_utf8("plain", 5) == "plain"
