"""Story clustering: tokens in three scripts, copies join a story, other stories stay apart, order does not
matter, and the state persists in a real Elasticsearch (band keys on the article, found by a terms query)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from enrich.stories import (
    Clustering,
    InMemoryStore,
    NewArticle,
    StoredMember,
    assign_stories,
    band_keys,
    shingles,
    signature,
    similarity,
    tokens,
)
from search.analysis import article_analysis
from search.bulk import index_articles
from search.indices import setup_indices
from search.mappings import articles_mappings
from search.names import IndexNames
from search.stories import EsStoryStore, story_fields, story_summaries
from tests.support.search_docs import make_doc, seed_text

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _seed_body() -> str:
    return seed_text()[1]


def _copies(body: str) -> dict[str, str]:
    """The seed story as syndication rewrites it, and an unrelated story."""
    paragraphs = body.split("\n")
    return {
        "wire": body,
        "boilerplate": "Advertisement. Share this story on social media.\n" + body + "\nRead more: world news.",
        "trimmed": "\n".join(paragraphs[: max(2, len(paragraphs) * 3 // 4)]),
        "added": body + "\nLocal officials in Sabha said they had not been told of the new camps, and asked "
        "the government in Tripoli for more troops to guard the roads south of the city.",
    }


OTHER = (
    "The central bank raised interest rates by half a point on Thursday, citing stubborn inflation in food "
    "and fuel prices. Analysts had expected a smaller rise. The governor said further increases were possible "
    "if prices kept climbing over the summer, and markets fell sharply after the announcement in the capital."
)


def test_tokens_fold_case_accents_and_arabic_marks() -> None:
    assert tokens("L'État islamique, à Syrte!") == ["l", "etat", "islamique", "a", "syrte"]
    # diacritics (harakat), tatweel and hamza seats fold away: the same Arabic word in three spellings
    assert tokens("الدَّوْلَة") == tokens("الدولة") == tokens("الدولـــة")
    assert tokens("أحمد") == tokens("احمد")
    assert tokens("ISIS—thrown out") == ["isis", "thrown", "out"]


def test_shingles_are_word_runs_and_short_texts_are_one_shingle() -> None:
    assert shingles(["a", "b", "c", "d"], 3) == {b"a b c", b"b c d"}
    assert shingles(["a", "b"], 3) == {b"a b"}
    assert shingles([], 3) == set()


def test_signatures_estimate_similarity() -> None:
    body = _seed_body()
    copies = _copies(body)
    wire = signature(copies["wire"])
    assert similarity(wire, signature(copies["boilerplate"])) > 0.8
    assert similarity(wire, signature(copies["added"])) > 0.8
    assert similarity(wire, signature(OTHER)) < 0.1
    assert len(band_keys(wire)) == 32 and band_keys(wire) == band_keys(signature(body))  # deterministic


def _articles(texts: dict[str, str]) -> list[NewArticle]:
    return [NewArticle(id=f"id-{name}", text=text, seen_at=T0 + timedelta(minutes=i)) for i, (name, text) in
            enumerate(texts.items())]  # fmt: skip


def test_copies_form_one_story_whose_id_is_the_first_seen_article() -> None:
    texts = {**_copies(_seed_body()), "other": OTHER}
    assigned = {a.article_id: a for a in assign_stories(_articles(texts), InMemoryStore())}
    copies = [aid for aid in assigned if aid != "id-other"]
    assert {assigned[aid].story_id for aid in copies} == {"id-wire"}
    assert {assigned[aid].story_first_seen for aid in copies} == {T0.isoformat()}
    assert assigned["id-other"].story_id == "id-other"


def test_assignment_does_not_depend_on_the_order_within_a_batch() -> None:
    articles = _articles({**_copies(_seed_body()), "other": OTHER})
    expected = {a.article_id: a.story_id for a in assign_stories(articles, InMemoryStore())}
    for seed in range(5):
        shuffled = list(articles)
        random.Random(seed).shuffle(shuffled)
        assert {a.article_id: a.story_id for a in assign_stories(shuffled, InMemoryStore())} == expected


def test_a_later_batch_joins_the_story_of_an_earlier_one() -> None:
    copies = _copies(_seed_body())
    store = InMemoryStore()
    for a in assign_stories(_articles({"wire": copies["wire"]}), store):
        store.add(StoredMember(article_id=a.article_id, story_id=a.story_id, signature=a.signature,
                               story_first_seen=a.story_first_seen), a.band_keys)  # fmt: skip
    later = [NewArticle(id="late-copy", text=copies["added"], seen_at=T0 - timedelta(days=1))]
    # published "earlier" but seen in a later pass: it joins the existing story rather than renaming it
    assert assign_stories(later, store)[0].story_id == "id-wire"


def test_clustering_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="multiple"):
        Clustering(bands=30)
    with pytest.raises(ValueError, match="threshold"):
        Clustering(threshold=0)


def _story_doc(doc_id: str, text: str, fields: dict[str, object], source: str) -> dict[str, object]:
    return {**make_doc(doc_id, text=text, source=source), **fields}


def test_story_state_lives_in_elasticsearch_across_passes(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    copies = _copies(_seed_body())
    first = assign_stories(_articles({"wire": copies["wire"], "other": OTHER}), EsStoryStore(es, index_names))
    docs = [_story_doc(a.article_id, copies["wire"] if a.article_id == "id-wire" else OTHER,
                       story_fields(a.story_id, a.story_first_seen, a.band_keys, a.signature), "wire-feed")
            for a in first]  # fmt: skip
    assert len(index_articles(es, index_names, docs).written) == 2

    # a new pass (a new store object, nothing in memory): copies find the story through the band keys
    later = [
        NewArticle(id="b-copy", text=copies["boilerplate"], seen_at=T0 + timedelta(hours=1)),
        NewArticle(id="t-copy", text=copies["trimmed"], seen_at=T0 + timedelta(hours=2)),
    ]
    second = assign_stories(later, EsStoryStore(es, index_names))
    assert {a.story_id for a in second} == {"id-wire"}
    assert {a.story_first_seen for a in second} == {T0.isoformat()}
    docs = [_story_doc(a.article_id, copies["boilerplate"], story_fields(a.story_id, a.story_first_seen,
                       a.band_keys, a.signature), f"site-{a.article_id}") for a in second]  # fmt: skip
    index_articles(es, index_names, docs)
    es.indices.refresh(index=index_names.articles)

    summary = story_summaries(es, index_names, ["id-wire", "id-other"])
    assert summary["id-wire"].copies == 3
    assert sorted(summary["id-wire"].sources) == ["site-b-copy", "site-t-copy", "wire-feed"]
    assert summary["id-other"].copies == 1


def test_articles_without_story_fields_are_stories_of_one(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    index_articles(es, index_names, [make_doc("plain")])
    assert es.get(index=index_names.articles, id="plain")["_source"]["story_id"] == "plain"


def test_migration_gives_older_articles_a_story_id(es: Elasticsearch, index_names: IndexNames) -> None:
    old = articles_mappings()
    for name in ("story_id", "story_first_seen", "story_bands", "story_sig"):
        del old["properties"][name]
    old["_meta"] = {"fingerprint": "before-stories"}
    es.indices.create(
        index=index_names.articles_index(1),
        settings={"number_of_shards": 1, "analysis": article_analysis(es)},
        mappings=old,
        aliases={index_names.articles: {"is_write_index": True}},
    )
    es.index(index=index_names.articles_index(1), id="old", document=make_doc("old"), refresh=True)

    report = setup_indices(es, index_names)

    assert report.migrated_from == index_names.articles_index(1) and report.copied == 1
    assert es.get(index=index_names.articles, id="old")["_source"]["story_id"] == "old"
