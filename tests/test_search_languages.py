"""Search across English, French and Arabic articles on a real node: per-language analysis of title and text
(the plugin's Lucene filters on the local node, the built-in analyzers on a full cluster), one query over all
of them, the language filter, group facets and highlights in each language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from ingest.extract import PageInput, extract_article
from search.analysis import article_analysis
from search.bulk import index_articles
from search.indices import setup_indices
from search.names import IndexNames
from search.querying.query import SearchRequest, search_articles
from seeds.server import render
from tests.support.search_docs import make_doc, seed_doc

BASE = "http://127.0.0.1:8000"


def _seed_page(page: str, doc_id: str, groups: list[str]) -> dict[str, Any]:
    html = render(page, BASE).decode("utf-8")
    now = datetime(2018, 3, 1, tzinfo=UTC)
    article = extract_article(
        PageInput(
            html=html, url=f"{BASE}/{doc_id}", source="t", fetched_at=now, feed_published_at=None, feed_title=None
        )
    )
    return make_doc(doc_id, title=article.title or "", text=article.text, language=article.language, groups=groups)


CORPUS = [
    seed_doc("en-seed") | {"group_ids": ["islamic-state", "al-qaeda"]},
    _seed_page("article_fr.html", "fr-seed", ["islamic-state", "aqim", "jnim", "is-sahel"]),
    _seed_page("article_ar.html", "ar-seed", ["islamic-state", "aqim", "jnim", "is-sahel"]),
    make_doc("ar-base", title="قاعدة عسكرية جديدة", text="افتتح الجيش قاعدة عسكرية جديدة قرب الحدود.", language="ar"),
    make_doc("fr-other", title="Élections", text="Les électeurs se sont rendus aux urnes dimanche.", language="fr"),
]


@pytest.fixture()
def corpus(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    setup_indices(es, index_names)
    report = index_articles(es, index_names, CORPUS)
    assert report.failed == {}
    es.indices.refresh(index=index_names.articles)
    return index_names


def _search(es: Elasticsearch, names: IndexNames, query: str, **kwargs: Any) -> tuple[list[str], list[Any]]:
    result = search_articles(es, names, SearchRequest(query=query, **kwargs))
    return sorted(h.id for h in result.hits), result.hits


def test_french_query_finds_inflected_forms(es: Elasticsearch, corpus: IndexNames) -> None:
    # the article says "attaques", "frappes", "réseaux"; the analyst types the singular
    for word in ("attaque", "frappe", "réseau"):
        assert _search(es, corpus, word)[0] == ["fr-seed"], word
    # elision and accents: "l'armée" is indexed as "armee" (the English analyzer keeps "l'arme")
    assert _search(es, corpus, "armee")[0] == ["fr-seed"]


def test_arabic_word_found_with_and_without_the_article(es: Elasticsearch, corpus: IndexNames) -> None:
    # the Arabic seed has "القاعدة" (with ال, also after و and ب prefixes); ar-base has "قاعدة" alone
    assert _search(es, corpus, "قاعدة")[0] == ["ar-base", "ar-seed"]
    assert _search(es, corpus, "القاعدة")[0] == ["ar-base", "ar-seed"]
    # normalisation: the query written with hamza and vowel marks finds the plain spelling and back
    assert _search(es, corpus, "الإسلاميّة")[0] == _search(es, corpus, "الاسلامية")[0] == ["ar-seed"]


def test_exact_phrases_see_through_elision_and_arabic_marks(es: Elasticsearch, corpus: IndexNames) -> None:
    assert _search(es, corpus, '"État islamique au Grand Sahara"')[0] == ["fr-seed"]  # "l'État islamique au..."
    assert _search(es, corpus, '"تنظيمُ الدولةِ الإسلاميةِ"')[0] == ["ar-seed"]
    assert _search(es, corpus, '"attaque contre"')[0] == []  # a phrase is not stemmed


def test_lang_filters(es: Elasticsearch, corpus: IndexNames) -> None:
    assert _search(es, corpus, "", lang="fr")[0] == ["fr-other", "fr-seed"]
    assert _search(es, corpus, "", lang="ar")[0] == ["ar-base", "ar-seed"]
    assert _search(es, corpus, "Libya OR Libye OR ليبيا", lang="en")[0] == ["en-seed"]


def test_group_facet_counts_every_language(es: Elasticsearch, corpus: IndexNames) -> None:
    result = search_articles(es, corpus, SearchRequest(query=""))
    groups = {bucket["value"]: bucket["count"] for bucket in result.facets["groups"]}
    assert groups["islamic-state"] == 3 and groups["jnim"] == 2 and groups["al-qaeda"] == 1


def test_highlights_in_each_language(es: Elasticsearch, corpus: IndexNames) -> None:
    (fr,) = _search(es, corpus, "frappe")[1]
    assert any("<em>frappes</em>" in p for p in fr.passages)
    (ar,) = _search(es, corpus, "فزان")[1]
    assert any("<em>فزان</em>" in p for p in ar.passages)
    hits = _search(es, corpus, "قاعدة")[1]
    by_id = {h.id: h for h in hits}
    assert "<em>قاعدة</em>" in (by_id["ar-base"].title_highlight or "")
    assert any("<em>القاعدة</em>" in p for p in by_id["ar-seed"].passages)
    ids, hits = _search(es, corpus, "Belmokhtar")
    assert ids == ["en-seed", "fr-seed"]  # a name is found in every language that writes it so
    assert all(any("<em>Belmokhtar</em>" in p for p in h.passages) for h in hits)


def test_each_language_analyzer_on_this_node(es: Elasticsearch, index_names: IndexNames) -> None:
    index = f"{index_names.prefix}langs"
    es.indices.create(index=index, settings={"number_of_shards": 1, "analysis": article_analysis(es)})

    def tokens(analyzer: str, text: str) -> list[str]:
        return [t["token"] for t in es.indices.analyze(index=index, analyzer=analyzer, text=text)["tokens"]]

    assert tokens("ww_french", "Les attaques de l'État islamique") == tokens("ww_french", "attaque Etat islamiques")
    assert tokens("ww_arabic", "بالقاعدة والقاعدة قاعدة") == [tokens("ww_arabic", "القاعدة")[0]] * 3
    assert tokens("ww_arabic", "٢٠١٨") == ["2018"]
    assert tokens("ww_exact", "l'État") == ["etat"] and tokens("ww_exact", "attaques") == ["attaques"]
    assert tokens("ww_exact", "أُعلن") == tokens("ww_exact", "اعلن")


def test_an_english_only_index_migrates_to_the_languages_through_the_alias_swap(
    es: Elasticsearch, index_names: IndexNames
) -> None:
    from search.bulk import update_entities
    from search.mappings import articles_mappings

    # The deployment before French and Arabic: no .fr/.ar subfields, no ner_model/ner_skipped fields.
    old = articles_mappings()
    for field in ("title", "text"):
        for lang in ("fr", "ar"):
            del old["properties"][field]["fields"][lang]
    del old["properties"]["ner_model"], old["properties"]["ner_skipped"]
    old["_meta"] = {"fingerprint": "before-issue-15"}
    es.indices.create(
        index=index_names.articles_index(1),
        settings={"number_of_shards": 1, "analysis": article_analysis(es)},
        mappings=old,
        aliases={index_names.articles: {"is_write_index": True}},
    )
    french = CORPUS[1]
    assert index_articles(es, index_names, [french]).failed == {}

    report = setup_indices(es, index_names)

    assert report.migrated_from == index_names.articles_index(1) and report.copied == 1
    es.indices.refresh(index=index_names.articles)
    assert _search(es, index_names, "réseau")[0] == ["fr-seed"]  # the French subfield of the copied article
    update = {"entities": [], "entity_names": {}, "ner_model": "fr_core_news_sm", "ner_skipped": None}
    assert update_entities(es, index_names, {"fr-seed": update}).failed == {}
    assert es.get(index=index_names.articles, id="fr-seed")["_source"]["ner_model"] == "fr_core_news_sm"
