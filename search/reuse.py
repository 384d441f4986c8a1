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
_PLACE_FIELDS = ("places", "place_ids", "place_countries")  # the same text names the same places


@dataclass(frozen=True, kw_only=True)
class Pending:
    """An article still waiting for its NER phase."""

    id: str
    text: str
    content_hash: str | None
    language: str | None = None  # the stored language picks the NER model
    published_at: str | None = None  # ISO; events are dated against its day
    story_id: str | None = None  # its story so far (MinHash); the NER phase may join it to another language's
    story_first_seen: str | None = None


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
            source_includes=["text", "content_hash", "language", "published_at", "story_id", "story_first_seen"],
            sort=[{"indexed_at": "asc"}, {"id": "asc"}],
            size=limit,
        )  # fmt: skip
    return [
        Pending(
            id=h["_id"],
            text=h["_source"].get("text") or "",
            content_hash=h["_source"].get("content_hash"),
            language=h["_source"].get("language"),
            published_at=h["_source"].get("published_at"),
            story_id=h["_source"].get("story_id"),
            story_first_seen=h["_source"].get("story_first_seen"),
        )
        for h in found["hits"]["hits"]
    ]


def count_waiting_for_entities(es: Elasticsearch, names: IndexNames) -> int:
    """How many articles are indexed with ``ner_done: false``."""
    with es_errors("counting articles that still need entities"):
        return int(es.count(index=names.articles, query={"term": {"ner_done": False}})["count"])


def entities_by_content_hash(es: Elasticsearch, names: IndexNames, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{content hash: {"entities", "entity_names", "events", "places", "place_ids", "place_countries",
    "ner_model", "ner_skipped"}} of an article with that hash whose NER is done (a copy takes the events too,
    dated as the first article's)."""
    unique = sorted(set(hashes))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), HASHES_PER_QUERY):
        chunk = unique[start : start + HASHES_PER_QUERY]
        query = {"bool": {"filter": [{"terms": {"content_hash": chunk}}, {"term": {"ner_done": True}}]}}
        with es_errors("looking up entities of identical texts"):
            found = es.search(
                index=names.articles, query=query, size=len(chunk), collapse={"field": "content_hash"},
                source_includes=["content_hash", "entities", "entity_names", "events", *_PLACE_FIELDS,
                                 "ner_model", "ner_skipped"],
                track_total_hits=False,
            )  # fmt: skip
        for hit in found["hits"]["hits"]:
            src = hit["_source"]
            out[src["content_hash"]] = {
                "entities": src.get("entities") or [],
                "entity_names": src.get("entity_names") or {},
                **{field: src.get(field) or [] for field in _PLACE_FIELDS},
                "events": src.get("events") or [],
                "ner_model": src.get("ner_model"),
                "ner_skipped": src.get("ner_skipped"),
            }
    return out
