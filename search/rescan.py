"""Re-tagging indexed articles: a consistent, bounded scan of the articles index, and tag-only partial updates.

The scan reads one page at a time under a point in time (PIT), sorted by ``id`` with ``search_after``, so it
sees the index as it was when it started and holds one page in memory. Each page comes with a
:class:`Checkpoint`: the PIT id and the last sort values (to go on in the same PIT), and the last article id,
the PIT-less fallback: when the PIT has expired (a resume long after a kill), a new PIT starts with
``id > last_id``, which skips exactly the articles already done because ids are unique and sorted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from search.bulk import partial_updates
from search.bulksend import BulkReport, Policy
from search.client import es_errors
from search.names import IndexNames

# what a re-tag writes: the NER phase's fields (search.bulk.ENTITY_FIELDS) without the story, plus the groups
TAG_FIELDS = frozenset(
    {"entities", "entity_names", "events", "places", "place_ids", "place_countries", "ner_done", "ner_model",
     "ner_skipped", "groups", "group_ids"}
)  # fmt: skip
MISSING_FIELDS = {"places": ["place_ids"], "events": ["events"], "all": ["place_ids", "events"]}
KEEP_ALIVE = "10m"  # a PIT outlives a page by far; a resume after it expired takes the fallback


@dataclass(frozen=True)
class Checkpoint:
    """Where a scan is: after the article ``last_id`` (``sort`` in the PIT ``pit_id``)."""

    last_id: str | None = None
    sort: list[Any] | None = None
    pit_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"last_id": self.last_id, "sort": self.sort, "pit_id": self.pit_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(last_id=data.get("last_id"), sort=data.get("sort"), pit_id=data.get("pit_id"))


@dataclass(frozen=True)
class Page:
    hits: list[dict[str, Any]]  # each {"_id", "_source"}
    checkpoint: Checkpoint  # after the last hit of this page


def scan_query(
    *, since: str | None = None, until: str | None = None, source: str | None = None, missing: str | None = None
) -> dict[str, Any]:
    """The articles to re-tag: published in [since, until] (ISO dates), of one source, lacking ``missing``
    (places, events or all: either); never one still waiting for its NER phase (that phase tags it)."""
    if missing is not None and missing not in MISSING_FIELDS:
        raise ValueError(f"missing must be one of {sorted(MISSING_FIELDS)}, not {missing!r}")
    filters: list[dict[str, Any]] = []
    if since or until:
        bounds = {key: value for key, value in (("gte", since), ("lte", until)) if value}
        filters.append({"range": {"published_at": bounds}})
    if source:
        filters.append({"term": {"source": source}})
    if missing:
        absent = [_absent(name) for name in MISSING_FIELDS[missing]]
        filters.append({"bool": {"should": absent, "minimum_should_match": 1}})
    return {"bool": {"filter": filters, "must_not": [{"term": {"ner_done": False}}]}}


def _absent(field: str) -> dict[str, Any]:
    if field == "events":  # nested: "exists" must look inside
        return {"bool": {"must_not": [{"nested": {"path": "events", "query": {"match_all": {}}}}]}}
    return {"bool": {"must_not": [{"exists": {"field": field}}]}}


def count_articles(es: Elasticsearch, names: IndexNames, query: dict[str, Any]) -> int:
    with es_errors("counting the articles to re-tag"):
        return int(es.count(index=names.articles, query=query)["count"])


def scan_articles(
    es: Elasticsearch,
    names: IndexNames,
    query: dict[str, Any],
    *,
    page_size: int,
    source_includes: list[str],
    start: Checkpoint | None = None,
) -> Iterator[Page]:
    """Pages of at most ``page_size`` articles in ``id`` order, after ``start`` when given. The PIT is closed
    when the iteration ends (a killed process leaves it to expire)."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    pit_id, after = _resume_pit(es, names, start)
    if pit_id is None:
        pit_id, after = _open_pit(es, names), None
        if start is not None and start.last_id is not None:
            query = {"bool": {"filter": [query, {"range": {"id": {"gt": start.last_id}}}]}}
    try:
        while True:
            extra: dict[str, Any] = {"search_after": after} if after else {}
            with es_errors("scanning the articles to re-tag"):
                found = es.search(
                    pit={"id": pit_id, "keep_alive": KEEP_ALIVE}, query=query, sort=[{"id": "asc"}],
                    size=page_size, source_includes=source_includes, track_total_hits=False, **extra,
                )  # fmt: skip
            pit_id = found.get("pit_id", pit_id)
            hits = found["hits"]["hits"]
            if not hits:
                return
            after = hits[-1]["sort"]
            yield Page(
                [{"_id": h["_id"], "_source": h.get("_source") or {}} for h in hits],
                Checkpoint(last_id=hits[-1]["_id"], sort=after, pit_id=pit_id),
            )
            if len(hits) < page_size:
                return
    finally:
        _close_pit(es, pit_id)


def _open_pit(es: Elasticsearch, names: IndexNames) -> str:
    with es_errors("opening a point in time on the articles"):
        return str(es.open_point_in_time(index=names.articles, keep_alive=KEEP_ALIVE)["id"])


def _resume_pit(es: Elasticsearch, names: IndexNames, start: Checkpoint | None) -> tuple[str | None, Any]:
    """(the checkpoint's PIT, its sort values) when that PIT is still open, else (None, None)."""
    if start is None or not start.pit_id or not start.sort:
        return None, None
    try:
        es.search(pit={"id": start.pit_id, "keep_alive": KEEP_ALIVE}, size=0, track_total_hits=False)
    except NotFoundError:  # expired or closed: the PIT-less fallback
        return None, None
    return start.pit_id, start.sort


def _close_pit(es: Elasticsearch, pit_id: str) -> None:
    try:
        es.close_point_in_time(id=pit_id)
    except (ApiError, TransportError):  # best effort: an unclosed PIT expires by itself after KEEP_ALIVE
        return


def update_tags(
    es: Elasticsearch,
    names: IndexNames,
    updates: dict[str, dict[str, Any]],
    *,
    chunk_docs: int = 200,
    max_retries: int = 3,
    backoff_s: float = 0.5,
) -> BulkReport:
    """Partial updates {article id: tag fields} by id; only ``TAG_FIELDS`` may change (the text, story and
    dates never). An id no longer indexed is a permanent failure: an update never creates a document."""
    policy = Policy(chunk_docs=chunk_docs, chunk_bytes=5_000_000, max_retries=max_retries, backoff_s=backoff_s)
    return partial_updates(es, names, updates, allowed=TAG_FIELDS, policy=policy)
