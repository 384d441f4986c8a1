"""English analysis (search/analysis.py) against the real node: the local node's plugin filters, or a full
cluster's built-in ones, whichever the session's node offers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from pytest_httpserver import HTTPServer

from search.analysis import article_analysis
from search.errors import AnalysisUnavailableError, SearchUnavailable

ES_HEADERS = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}


@pytest.fixture()
def analyzed_index(es: Elasticsearch, index_prefix: str) -> Iterator[str]:
    """An index whose settings carry the analysis body, and a text field using each analyzer."""
    index = f"{index_prefix}analysis"
    es.indices.create(
        index=index,
        settings={"number_of_shards": 1, "number_of_replicas": 0, "analysis": article_analysis(es)},
        mappings={
            "properties": {
                "text": {
                    "type": "text",
                    "analyzer": "ww_english",
                    "fields": {"exact": {"type": "text", "analyzer": "ww_exact"}},
                }
            }
        },
    )
    yield index


def tokens(es: Elasticsearch, index: str, analyzer: str, text: str) -> list[str]:
    result = es.indices.analyze(index=index, analyzer=analyzer, text=text)
    return [token["token"] for token in result["tokens"]]


def test_english_stems_plurals_and_exact_does_not(es: Elasticsearch, analyzed_index: str) -> None:
    assert tokens(es, analyzed_index, "ww_english", "bombings") == tokens(
        es, analyzed_index, "ww_english", "bombing"
    )
    assert tokens(es, analyzed_index, "ww_exact", "bombings") == ["bombings"]
    assert tokens(es, analyzed_index, "ww_exact", "bombing") == ["bombing"]


def test_english_strips_possessives(es: Elasticsearch, analyzed_index: str) -> None:
    assert tokens(es, analyzed_index, "ww_english", "Libya's") == ["libya"]
    assert tokens(es, analyzed_index, "ww_english", "Libya\u2019s") == ["libya"]  # typographic apostrophe


def test_both_analyzers_fold_accents(es: Elasticsearch, analyzed_index: str) -> None:
    assert tokens(es, analyzed_index, "ww_english", "Qaïda") == ["qaida"]
    assert tokens(es, analyzed_index, "ww_exact", "Al-Qaïda") == ["al", "qaida"]


def test_english_drops_stop_words_exact_keeps_them(es: Elasticsearch, analyzed_index: str) -> None:
    assert tokens(es, analyzed_index, "ww_english", "the state of the attacks") == ["state", "attack"]
    assert tokens(es, analyzed_index, "ww_exact", "the state of the attacks") == [
        "the", "state", "of", "the", "attacks",
    ]


def test_search_matches_inflections_only_on_the_english_field(es: Elasticsearch, analyzed_index: str) -> None:
    text = "Two bombings hit Libya's capital, al-Qaïda said."
    es.index(index=analyzed_index, id="1", document={"text": text}, refresh=True)

    def hits(query: dict[str, Any]) -> int:
        return int(es.search(index=analyzed_index, query=query)["hits"]["total"]["value"])

    assert hits({"match": {"text": "bombing"}}) == 1
    assert hits({"match": {"text.exact": "bombing"}}) == 0
    assert hits({"match_phrase": {"text.exact": "al-qaida said"}}) == 1
    assert hits({"match": {"text": "Libya"}}) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cluster_without_article_analysis_gives_a_clear_error(httpserver: HTTPServer) -> None:
    # A real HTTP server answering like an Elasticsearch that knows neither the analyzer nor the filters.
    unknown = {"error": {"type": "illegal_argument_exception", "reason": "failed to find global analyzer"},
               "status": 400}
    httpserver.expect_request("/_analyze", method="POST").respond_with_json(unknown, status=400,
                                                                          headers=ES_HEADERS)
    client = Elasticsearch(httpserver.url_for("/"), request_timeout=5)
    try:
        with pytest.raises(AnalysisUnavailableError, match="ww_porter_stem"):
            article_analysis(client)
    finally:
        client.close()
    assert len(httpserver.log) == 2  # probed the built-in analyzer, then the plugin's filters


def test_unreachable_cluster_is_reported_as_unavailable() -> None:
    client = Elasticsearch(f"http://127.0.0.1:{_free_port()}", request_timeout=2, max_retries=0)
    try:
        with pytest.raises(SearchUnavailable):
            article_analysis(client)
    finally:
        client.close()
