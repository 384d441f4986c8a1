"""The writer's story lookup needs no refresh (``wirewatch.engine.recent``): what the engine wrote since the last
finished refresh is read from memory beside the index, so a copy written right after its original joins its
story even though no search can show the original yet. On the real node, with its periodic refresh turned off
so that nothing but the test decides what a search sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from enrich.stories import CombinedStore, InMemoryStore, NewArticle, StoredMember, assign_stories
from ingest.extract import Article
from search.bulk import index_articles
from search.indices import setup_indices
from search.names import IndexNames
from search.stories import story_fields
from tests.support.search_docs import make_doc, seed_text
from wirewatch.engine.recent import RecentlyWritten
from wirewatch.stories import story_fields_for

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _article(aid: str, text: str, seen: datetime) -> Article:
    return Article(
        id=aid, url=f"http://127.0.0.1/{aid}", canonical_url=f"http://127.0.0.1/{aid}", source=f"site-{aid}",
        title="Camps in the south", text=text, author=None, published_at=seen, date_source="page", site_name=None,
        language="en", description=None, fetched_at=seen, content_hash=aid, extraction_method="trafilatura",
    )  # fmt: skip


def _written(es: Elasticsearch, names: IndexNames, aid: str, text: str, seen: datetime) -> dict[str, object]:
    """Assign ``aid`` its story, index it (no refresh) and return its document."""
    (assigned,) = assign_stories([NewArticle(id=aid, text=text, seen_at=seen)], InMemoryStore())
    fields = story_fields(assigned.story_id, assigned.story_first_seen, assigned.band_keys, assigned.signature)
    doc = {**make_doc(aid, text=text, source=f"site-{aid}"), **fields}
    assert index_articles(es, names, [doc]).written == [aid]
    return doc


def test_a_copy_joins_an_original_no_search_shows_yet(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    es.indices.put_settings(index=index_names.articles, settings={"index": {"refresh_interval": "-1"}})
    es.indices.refresh(index=index_names.articles)
    text = seed_text()[1]
    original = _written(es, index_names, "original", text, T0)
    assert es.count(index=index_names.articles)["count"] == 0  # written, and not searchable
    copy = [_article("copy", "Advertisement.\n" + text + "\nRead more: world news.", T0 + timedelta(hours=1))]

    alone = story_fields_for(es, index_names, copy, refresh=False)
    assert alone["copy"]["story_id"] == "copy"  # what the writer would do without the store: a new story

    recent = RecentlyWritten()
    recent.add(1, {"original": original})
    joined = story_fields_for(es, index_names, copy, refresh=False, unsearchable=recent)
    assert joined["copy"]["story_id"] == "original"
    assert joined["copy"]["story_first_seen"] == original["story_first_seen"]


def test_a_finished_refresh_empties_the_store_up_to_its_write() -> None:
    recent = RecentlyWritten()
    text = seed_text()[1]
    docs = {}
    for n, aid in enumerate(("a", "b", "c"), start=1):
        (assigned,) = assign_stories([NewArticle(id=aid, text=text, seen_at=T0)], InMemoryStore())
        docs[aid] = story_fields(assigned.story_id, assigned.story_first_seen, assigned.band_keys, assigned.signature)
        recent.add(n, {aid: docs[aid]})
    recent.add(3, {"no-story": {"id": "no-story"}})  # a document without story fields is not remembered
    keys = list(docs["a"]["story_bands"])  # type: ignore[call-overload]
    assert {m.article_id for m in recent.members_sharing(keys)} == {"a", "b", "c"}
    recent.searchable_up_to(2)  # a refresh that started after write 2 finished
    assert len(recent) == 1
    assert [m.article_id for m in recent.members_sharing(keys, exclude=["zzz"])] == ["c"]
    assert recent.members_sharing(keys, exclude=["c"]) == []
    recent.searchable_up_to(5)
    assert len(recent) == 0


def test_a_combined_store_is_the_union_and_the_first_store_wins() -> None:
    first, second = InMemoryStore(), InMemoryStore()
    first.add(StoredMember(article_id="x", story_id="from-first", signature=b"1"), ["k1"])
    second.add(StoredMember(article_id="x", story_id="from-second", signature=b"1"), ["k1"])
    second.add(StoredMember(article_id="y", story_id="y", signature=b"2"), ["k2"])
    found = {m.article_id: m.story_id for m in CombinedStore(first, second).members_sharing(["k1", "k2"])}
    assert found == {"x": "from-first", "y": "y"}
    assert CombinedStore(first, second).members_sharing(["k1", "k2"], exclude=["x"])[0].article_id == "y"
