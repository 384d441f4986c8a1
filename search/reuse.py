"""Entities of an identical text, so a syndicated copy does not pay for NER again.

An article's ``content_hash`` is a hash of its normalised text. When an article waiting for NER has the hash
of one whose entities are done, the same text gives the same entities (and the same offsets): they are
copied instead of computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.names import IndexNames

HASHES_PER_QUERY = 1000


@dataclass(frozen=True, kw_only=True)
class Pending:
    """An article still waiting for its NER phase."""

    id: str
    text: str
    content_hash: str | None
    language: str | None = None  # the stored language picks the NER model


def articles_waiting_for_entities(
    es: Elasticsearch, names: IndexNames, *, limit: int = 500, exclude: Sequence[str] = ()
) -> list[Pending]:
    """Up to ``limit`` articles indexed with ``ner_done: false``, oldest first, with their content hash;
    ``exclude``: ids left out (being tagged already)."""
    query: dict[str, Any] = {"bool": {"filter": [{"term": {"ner_done": False}}]}}
    if exclude:
        query["bool"]["must_not"] = [{"ids": {"values": list(exclude)}}]
    with es_errors("listing articles that still need entities"):
        found = es.search(
            index=names.articles, query=query,
            source_includes=["text", "content_hash", "language"], sort=[{"indexed_at": "asc"}, {"id": "asc"}],
            size=limit,
        )  # fmt: skip
    return [
        Pending(
            id=h["_id"],
            text=h["_source"].get("text") or "",
            content_hash=h["_source"].get("content_hash"),
            language=h["_source"].get("language"),
        )
        for h in found["hits"]["hits"]
    ]


def count_waiting_for_entities(es: Elasticsearch, names: IndexNames) -> int:
    """How many articles are indexed with ``ner_done: false``."""
    with es_errors("counting articles that still need entities"):
        return int(es.count(index=names.articles, query={"term": {"ner_done": False}})["count"])


def entities_by_content_hash(es: Elasticsearch, names: IndexNames, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{content hash: {"entities", "entity_names", "ner_model", "ner_skipped"}} of an article with that hash
    whose NER is done."""
    unique = sorted(set(hashes))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), HASHES_PER_QUERY):
        chunk = unique[start : start + HASHES_PER_QUERY]
        query = {"bool": {"filter": [{"terms": {"content_hash": chunk}}, {"term": {"ner_done": True}}]}}
        with es_errors("looking up entities of identical texts"):
            found = es.search(
                index=names.articles, query=query, size=len(chunk), collapse={"field": "content_hash"},
                source_includes=["content_hash", "entities", "entity_names", "ner_model", "ner_skipped"],
                track_total_hits=False,
            )  # fmt: skip
        for hit in found["hits"]["hits"]:
            src = hit["_source"]
            out[src["content_hash"]] = {
                "entities": src.get("entities") or [],
                "entity_names": src.get("entity_names") or {},
                "ner_model": src.get("ner_model"),
                "ner_skipped": src.get("ner_skipped"),
            }
    return out
