"""Idempotent, lossless indexing of article documents (docs/article-document.md) into the articles alias.

``_id`` is the article id, so indexing an article twice leaves one document. Before writing, one ``mget`` per
batch reads the stored content hashes: an article whose hash is unchanged is not rewritten (the local node has
no scripting, so a "compare then write" upsert cannot run server-side). The report says, per id, whether it
was written, already there unchanged, or failed transiently (retry later) or permanently (mapping error):
the pipeline moves feed cursors only past ``report.durable``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from search.bulksend import BulkReport, Op, Policy, send_all
from search.client import es_errors
from search.errors import IndexMissing
from search.names import IndexNames

MGET_BATCH = 1000
# the NER phase writes the places and events too: both use the NER spans
ENTITY_FIELDS = frozenset(
    {"entities", "entity_names", "events", "places", "place_ids", "place_countries", "ner_done", "ner_model",
     "ner_skipped", "story_id", "story_first_seen"}
)  # fmt: skip  # the story: the NER phase's events may join an article to another language's story

__all__ = ["BulkReport", "index_articles", "stored_hashes", "update_entities"]


def index_articles(
    es: Elasticsearch,
    names: IndexNames,
    docs: list[dict[str, Any]],
    *,
    chunk_docs: int = 200,
    chunk_bytes: int = 5_000_000,
    max_retries: int = 3,
    backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
) -> BulkReport:
    """Index ``docs`` (each with an ``id``); sets ``indexed_at``. No refresh: searches see them within ~1 s.

    Raises SearchUnavailable when Elasticsearch cannot be reached (``partial`` holds what was written before
    the outage, empty when it was unreachable from the start) and IndexMissing before ``es setup`` ran.
    """
    policy = Policy(
        chunk_docs=chunk_docs,
        chunk_bytes=chunk_bytes,
        max_retries=max_retries,
        backoff_s=backoff_s,
        max_backoff_s=max_backoff_s,
    )
    report = BulkReport()
    by_id = _valid_docs(docs, report)
    with es_errors("reading stored content hashes"):
        stored = stored_hashes(es, names, list(by_id))
    dumps = _serializer(es)
    now = datetime.now(UTC).isoformat()
    ops: list[Op] = []
    for doc_id, doc in by_id.items():
        if doc.get("content_hash") is not None and stored.get(doc_id) == doc["content_hash"]:
            report.unchanged.append(doc_id)
            continue
        action = {"index": {"_index": names.articles, "_id": doc_id}}
        # an article without a story of its own (written before stories, or by a tool) is a story of one
        ops.append(Op(doc_id, (dumps(action), dumps({"story_id": doc_id, **doc, "indexed_at": now}))))
    send_all(es, ops, policy, report)
    return report


def update_entities(
    es: Elasticsearch,
    names: IndexNames,
    updates: dict[str, dict[str, Any]],
    *,
    chunk_docs: int = 200,
    chunk_bytes: int = 5_000_000,
    max_retries: int = 3,
    backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
) -> BulkReport:
    """The NER phase: partial updates {article id: {"entities", "entity_names", "events", "ner_done", ...}} by id.

    Only the ``ENTITY_FIELDS`` may change (the places, the NER model used, or why none ran, too); ``ner_done`` defaults
    to True. An id that is not indexed is a
    permanent failure (``document_missing_exception``): an update never creates a document.
    """
    policy = Policy(
        chunk_docs=chunk_docs,
        chunk_bytes=chunk_bytes,
        max_retries=max_retries,
        backoff_s=backoff_s,
        max_backoff_s=max_backoff_s,
    )
    with_done = {doc_id: {"ner_done": True, **fields} for doc_id, fields in updates.items()}
    return partial_updates(es, names, with_done, allowed=ENTITY_FIELDS, policy=policy)


def partial_updates(
    es: Elasticsearch, names: IndexNames, updates: dict[str, dict[str, Any]], *, allowed: frozenset[str], policy: Policy
) -> BulkReport:
    """Partial updates {article id: fields} by id, each field one of ``allowed`` (a caller's promise that the
    text, story and dates are never touched). An id no longer indexed is a permanent failure
    (``document_missing_exception``): an update never creates a document."""
    dumps = _serializer(es)
    ops: list[Op] = []
    for doc_id, fields in updates.items():
        extra = set(fields) - allowed
        if extra:
            raise ValueError(f"these updates may only change {sorted(allowed)}, not {sorted(extra)}")
        action = {"update": {"_index": names.articles, "_id": doc_id}}
        ops.append(Op(doc_id, (dumps(action), dumps({"doc": fields}))))
    report = BulkReport()
    send_all(es, ops, policy, report)
    return report


def stored_hashes(es: Elasticsearch, names: IndexNames, ids: list[str]) -> dict[str, str | None]:
    """{id: content_hash} for the ids already indexed (absent ids are left out); one mget per 1000 ids."""
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), MGET_BATCH):
        response = es.mget(index=names.articles, ids=ids[start : start + MGET_BATCH], source_includes=["content_hash"])
        for doc in response["docs"]:
            if "error" in doc:
                _raise_missing(doc["error"])
            if doc.get("found"):
                found[doc["_id"]] = (doc.get("_source") or {}).get("content_hash")
    return found


def _raise_missing(error: dict[str, Any]) -> None:
    if error.get("type") == "index_not_found_exception":
        raise IndexMissing(f"{error.get('reason')}: run `wirewatch es setup` first")
    raise IndexMissing(f"cannot read stored articles: {error.get('reason')}")


def _valid_docs(docs: list[dict[str, Any]], report: BulkReport) -> dict[str, dict[str, Any]]:
    """Docs keyed by id; a doc without a usable id is a permanent failure keyed by its position (#n)."""
    by_id: dict[str, dict[str, Any]] = {}
    for position, doc in enumerate(docs):
        doc_id = doc.get("id") if isinstance(doc, dict) else None
        if not isinstance(doc_id, str) or not doc_id or len(doc_id.encode()) > 512:
            report.permanent[f"#{position}"] = "document has no usable id (a non-empty string of <= 512 bytes)"
            continue
        by_id[doc_id] = doc  # the same article twice in one batch: the later copy wins
    return by_id


def _serializer(es: Elasticsearch) -> Any:
    # the client's own JSON serializer, so dates and other types encode exactly as the client would
    return es.transport.serializers.get_serializer("application/json").dumps
