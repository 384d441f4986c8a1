"""The place facet takes its names from the caller's place table, not from a ``top_hits`` per bucket: the
search over 10,000 articles spent half its time there (bench/README.md, the workbench)."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from search.bulk import index_articles
from search.indices import setup_indices
from search.names import IndexNames
from search.querying.histogram import window
from search.querying.query import SearchRequest, _facet_aggs, search_articles
from tests.support.search_docs import make_doc
from wirewatch.places import describe_place

GAO = "gn:2457163"


def _stale_gao() -> dict[str, Any]:
    """Gao as an older build of the table wrote it: the facet must show the table's names, not these."""
    return {"id": GAO, "name": "Gao (old)", "name_fr": "Gao (ancien)", "name_ar": "", "kind": "city", "country": "ML",
            "admin1": None, "lat": 16.27, "lon": -0.04, "location": {"lat": 16.27, "lon": -0.04},
            "surface_forms": ["Gao"], "count": 1, "mentions": []}  # fmt: skip


def test_place_facet_names_come_from_the_table(es: Elasticsearch, index_names: IndexNames) -> None:
    setup_indices(es, index_names)
    docs = [{**make_doc(f"a{i}", text="Gunmen attacked Gao."), "places": [_stale_gao()], "place_ids": [GAO],
             "place_countries": ["ML"]} for i in range(3)]  # fmt: skip
    assert index_articles(es, index_names, docs).failed == {}
    es.indices.refresh(index=index_names.articles)
    found = search_articles(es, index_names, SearchRequest(describe_place=describe_place, collapse=False))
    facet = found.facets["places"]
    assert facet == [{"value": GAO, "name": "Gao", "name_fr": "Gao", "name_ar": "غاو", "country": "ML", "count": 3}]
    unnamed = search_articles(es, index_names, SearchRequest(collapse=False)).facets["places"]
    assert unnamed == [{"value": GAO, "name": None, "name_fr": None, "name_ar": None, "country": None, "count": 3}]


def test_place_facet_has_no_per_bucket_document_fetch() -> None:
    low, high = window(None, None)
    places = _facet_aggs("month", low, high)["places"]["aggs"]["ids"]
    assert "top_hits" not in str(places)
