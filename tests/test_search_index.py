"""Index setup and migration, idempotent lossless indexing, known ids and feed state, on a real node."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from search.analysis import article_analysis
from search.bulk import index_articles, update_entities
from search.client import make_client
from search.errors import IndexMissing, SearchUnavailable, SetupError
from search.feedstate import EsFeedStateStore
from search.indices import setup_indices
from search.known import existing_ids
from search.mappings import articles_mappings
from search.names import IndexNames
from tests.support.search_docs import make_doc, seed_doc


def _count(es: Elasticsearch, names: IndexNames) -> int:
    es.indices.refresh(index=names.articles)
    return int(es.count(index=names.articles)["count"])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_setup_creates_everything_once(es: Elasticsearch, index_names: IndexNames) -> None:
    first = setup_indices(es, index_names)
    assert first.articles_index == index_names.articles_index(1)
    assert set(first.created) == {index_names.articles_index(1), index_names.feeds, index_names.checkpoints}
    aliases = es.indices.get_alias(name=index_names.articles).body
    assert list(aliases) == [index_names.articles_index(1)]
    mapping = es.indices.get_mapping(index=index_names.articles_index(1)).body
    assert mapping[index_names.articles_index(1)]["mappings"]["dynamic"] == "strict"

    second = setup_indices(es, index_names)
    assert second.created == []
    assert second.migrated_from is None
    assert set(second.up_to_date) == {
        index_names.articles_index(1),
        index_names.feeds,
        index_names.checkpoints,
    }


def test_setup_refuses_an_auto_created_index_where_the_alias_belongs(
    es: Elasticsearch, index_names: IndexNames
) -> None:
    es.indices.create(index=index_names.articles)
    with pytest.raises(SetupError, match="concrete index, not an alias"):
        setup_indices(es, index_names)


def test_indexing_before_setup_fails_clearly_and_creates_nothing(es: Elasticsearch, index_names: IndexNames) -> None:
    with pytest.raises(IndexMissing, match="wirewatch es setup"):
        index_articles(es, index_names, [make_doc("a1")])
    assert not es.indices.exists(index=index_names.articles)


def test_indexing_twice_leaves_one_document_each(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    docs = [make_doc(f"a{i}", text=f"Story number {i}.") for i in range(25)]
    first = index_articles(es, index_names, docs, chunk_docs=7)
    assert sorted(first.written) == sorted(d["id"] for d in docs)
    assert first.failed == {}
    assert _count(es, index_names) == 25

    changed = [*docs[:24], make_doc("a24", text="Story number 24, updated with new facts.")]
    second = index_articles(es, index_names, changed, chunk_docs=7)
    assert second.written == ["a24"]
    assert len(second.unchanged) == 24
    assert sorted(second.durable) == sorted(d["id"] for d in docs)
    assert _count(es, index_names) == 25
    stored = es.get(index=index_names.articles, id="a24")["_source"]
    assert stored["text"] == "Story number 24, updated with new facts."
    assert datetime.fromisoformat(stored["indexed_at"]) <= datetime.now(UTC)


def test_one_malformed_document_is_reported_and_the_rest_indexed(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    bad_date = make_doc("bad-date", published_at="last Tuesday")
    unknown_field = {**make_doc("bad-field"), "sentiment": 0.4}
    docs = [make_doc("ok1"), bad_date, make_doc("ok2"), unknown_field, {"title": "no id"}, make_doc("ok3")]
    report = index_articles(es, index_names, docs, chunk_docs=2, max_retries=1, backoff_s=0.01)
    assert sorted(report.written) == ["ok1", "ok2", "ok3"]
    assert set(report.permanent) == {"bad-date", "bad-field", "#4"}
    assert "published_at" in report.permanent["bad-date"]
    assert "strict" in report.permanent["bad-field"]
    assert "no usable id" in report.permanent["#4"]
    assert report.transient == {}
    assert _count(es, index_names) == 3


def test_bulk_options_are_validated(es: Elasticsearch, index_names: IndexNames) -> None:
    with pytest.raises(ValueError, match="chunk_docs"):
        index_articles(es, index_names, [make_doc("a")], chunk_docs=0)
    with pytest.raises(ValueError, match="max_retries"):
        index_articles(es, index_names, [make_doc("a")], max_retries=-1)


def test_a_write_blocked_index_gives_transient_failures(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    es.indices.add_block(index=index_names.articles_index(1), block="write")
    try:
        report = index_articles(es, index_names, [make_doc("x1"), make_doc("x2")], max_retries=1, backoff_s=0.01)
    finally:
        es.indices.put_settings(index=index_names.articles_index(1), settings={"index.blocks.write": False})
    assert report.durable == []
    assert set(report.transient) == {"x1", "x2"}
    assert "cluster_block_exception" in report.transient["x1"]


def test_unreachable_elasticsearch_is_a_clear_error_with_nothing_written(index_names: IndexNames) -> None:
    client = make_client(url=f"http://127.0.0.1:{_closed_port()}", request_timeout=2, max_retries=0)
    with pytest.raises(SearchUnavailable, match="unreachable") as info:
        index_articles(client, index_names, [make_doc("a1")], max_retries=1, backoff_s=0.01)
    assert info.value.partial is None
    with pytest.raises(SearchUnavailable, match="unreachable"):
        existing_ids(client, index_names, ["a1"])
    with pytest.raises(SearchUnavailable, match="unreachable"):
        setup_indices(client, index_names)
    client.close()


def test_migration_copies_a_populated_index_and_swaps_the_alias(es: Elasticsearch, index_names: IndexNames) -> None:
    # An older deployment: v1 without the "description" field, under the alias.
    old_mappings = articles_mappings()
    del old_mappings["properties"]["description"]
    old_mappings["_meta"] = {"fingerprint": "an-older-mapping"}
    es.indices.create(
        index=index_names.articles_index(1),
        settings={"number_of_shards": 1, "analysis": article_analysis(es)},
        mappings=old_mappings,
        aliases={index_names.articles: {"is_write_index": True}},
    )
    docs = []
    for i in range(120):
        doc = make_doc(f"m{i}", text=f"Archive story {i} about Belmokhtar.")
        del doc["description"]
        docs.append(doc)
    assert len(index_articles(es, index_names, docs).written) == 120  # not refreshed yet: setup must refresh

    report = setup_indices(es, index_names)

    assert report.migrated_from == index_names.articles_index(1)
    assert report.articles_index == index_names.articles_index(2)
    assert report.copied == 120
    assert list(es.indices.get_alias(name=index_names.articles).body) == [index_names.articles_index(2)]
    assert _count(es, index_names) == 120
    old_settings = es.indices.get_settings(index=index_names.articles_index(1)).body
    assert old_settings[index_names.articles_index(1)]["settings"]["index"]["blocks"]["write"] == "true"
    # the new version takes the new field, and a second setup finds nothing to do
    written = index_articles(es, index_names, [{**make_doc("m-new"), "description": "A summary."}])
    assert written.written == ["m-new"]
    again = setup_indices(es, index_names)
    assert again.migrated_from is None
    assert again.articles_index == index_names.articles_index(2)


def test_existing_ids_sees_unrefreshed_writes(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    index_articles(es, index_names, [make_doc("k1"), make_doc("k2")])
    assert existing_ids(es, index_names, ["k1", "k2", "k3", "k1"]) == {"k1", "k2"}
    assert existing_ids(es, index_names, []) == set()


def test_update_entities_is_a_partial_update(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    doc = seed_doc("s1")
    doc.update(entities=[], entity_names={}, ner_done=False)
    index_articles(es, index_names, [doc])
    entities = [{"type": "PERSON", "canonical": "Mokhtar Belmokhtar", "surface_forms": ["Belmokhtar"], "count": 2}]
    report = update_entities(
        es,
        index_names,
        {"s1": {"entities": entities, "entity_names": {"person": ["Mokhtar Belmokhtar"]}}, "nope": {}},
    )
    assert report.written == ["s1"]
    assert "document_missing_exception" in report.permanent["nope"]
    stored = es.get(index=index_names.articles, id="s1")["_source"]
    assert stored["ner_done"] is True
    assert stored["entity_names"] == {"person": ["Mokhtar Belmokhtar"]}
    assert stored["title"] == doc["title"]
    with pytest.raises(ValueError, match="may only change"):
        update_entities(es, index_names, {"s1": {"title": "changed"}})


def test_feed_state_round_trip_and_listing(es: Elasticsearch, index_names: IndexNames) -> None:
    store = EsFeedStateStore(es, index_names)
    with pytest.raises(IndexMissing):
        store.save({"f1": {"etag": "x"}})
    setup_indices(es, index_names)
    store = EsFeedStateStore(es, index_names)
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    store.save(
        {
            "f2": {"etag": '"abc"', "seen": ["e1", "e2"], "consecutive_failures": 0, "last_success": when},
            "f1": {"etag": None, "consecutive_failures": 3, "last_error": "HTTP 503", "next_poll_at": when},
        }
    )
    loaded = store.load(["f1", "f2", "f3"])
    assert set(loaded) == {"f1", "f2"}
    assert loaded["f2"]["seen"] == ["e1", "e2"]
    assert loaded["f2"]["last_success"].startswith("2024-05-01T12:00:00")
    listed = store.list_states()
    assert [row["feed_id"] for row in listed] == ["f1", "f2"]
    assert listed[0]["consecutive_failures"] == 3
    assert listed[0]["last_error"] == "HTTP 503"
    assert listed[0]["next_poll_at"].startswith("2024-05-01T12:00:00")
    store.save({"f1": {"consecutive_failures": 0, "last_success": when}})
    assert store.load(["f1"])["f1"] == {"consecutive_failures": 0, "last_success": when.isoformat()}


def test_a_failed_migration_leaves_the_old_index_serving(es: Elasticsearch, index_names: IndexNames) -> None:
    from search.errors import MigrationError

    # an older mapping with a field the current (strict) mapping no longer has: its documents cannot be copied
    old_mappings = articles_mappings()
    old_mappings["properties"]["legacy_score"] = {"type": "float"}
    old_mappings["_meta"] = {"fingerprint": "an-older-mapping"}
    es.indices.create(
        index=index_names.articles_index(1),
        settings={"number_of_shards": 1, "analysis": article_analysis(es)},
        mappings=old_mappings,
        aliases={index_names.articles: {"is_write_index": True}},
    )
    index_articles(es, index_names, [{**make_doc("L1"), "legacy_score": 0.5}, make_doc("L2")])

    with pytest.raises(MigrationError, match="left as it was"):
        setup_indices(es, index_names)

    assert list(es.indices.get_alias(name=index_names.articles).body) == [index_names.articles_index(1)]
    assert not es.indices.exists(index=index_names.articles_index(2))
    assert index_articles(es, index_names, [make_doc("L3")]).written == ["L3"]  # writable again
    assert _count(es, index_names) == 3
