"""A syndicated copy whose text equals an already tagged article reuses its entities: NER runs once per text,
within a batch and across passes (real node, real spaCy tagger)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from search.bulk import index_articles, update_entities
from search.indices import setup_indices
from search.names import IndexNames
from search.reuse import articles_waiting_for_entities
from tests.support.search_docs import make_doc, seed_text
from wirewatch.reuse import entity_updates

WATCHLIST = Path(__file__).resolve().parents[1] / "enrich" / "data" / "watchlist.yaml"


@pytest.fixture(scope="module")
def tagger() -> Iterator[Tagger]:
    with Tagger(watchlist=load_watchlist(WATCHLIST), workers=1) as opened:
        yield opened


def _entity_pass(es: Elasticsearch, names: IndexNames, tagger: Tagger) -> tuple[int, int]:
    es.indices.refresh(index=names.articles)
    plan = entity_updates(es, names, tagger, articles_waiting_for_entities(es, names))
    assert update_entities(es, names, plan.updates).failed == {}
    es.indices.refresh(index=names.articles)
    return plan.tagged, plan.reused


def _entities(es: Elasticsearch, names: IndexNames, doc_id: str) -> tuple[list[object], dict[str, object]]:
    src = es.get(index=names.articles, id=doc_id)["_source"]
    assert src["ner_done"] is True
    return src["entities"], src["entity_names"]


def test_identical_texts_are_tagged_once(es: Elasticsearch, index_names: IndexNames, tagger: Tagger) -> None:
    setup_indices(es, index_names)
    _, text = seed_text()
    other = "Khalifa Haftar met officials in Benghazi on Monday to discuss the port of Tripoli."
    index_articles(es, index_names, [make_doc("wire", text=text), make_doc("copy", text=text, source="daily"),
                                     make_doc("other", text=other)])  # fmt: skip

    assert _entity_pass(es, index_names, tagger) == (2, 1)  # "copy" took the entities of "wire" in the batch
    wire = _entities(es, index_names, "wire")
    assert "Mokhtar Belmokhtar" in wire[1]["person"]  # type: ignore[operator]
    assert _entities(es, index_names, "copy") == wire

    index_articles(es, index_names, [make_doc("later", text=text, source="post")])  # a later pass
    assert _entity_pass(es, index_names, tagger) == (0, 1)  # from the index: no NER at all
    assert _entities(es, index_names, "later") == wire
