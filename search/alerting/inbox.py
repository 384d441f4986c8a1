"""Listing alerts: every filter in the Elasticsearch query, pages through ``search_after``.

A filter applied after the limit answers with fewer rows than asked (none at all when the newest alerts are
the filtered-out ones) while matching alerts exist further back. So the caller's exclusions (the alerts one
workbench user acknowledged, ``exclude_ids``) go into the query beside the watch, state and time filters, and
the next page starts after the last row's sort values: ``(created_at, id)``, newest first, as an opaque cursor.
Sorted by publication (``sort="published"``), the cursor is ``(published_at, id)``; alerts without a date last.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.errors import InvalidCursor
from search.names import IndexNames

MAX_LIST = 1000
StateFilter = Literal["pending", "failed", "delivered", "unconfigured", "suppressed"]
SortKey = Literal["created", "published"]
SORTS: tuple[SortKey, ...] = ("created", "published")
STATES: tuple[StateFilter, ...] = ("pending", "failed", "delivered", "unconfigured", "suppressed")
_TERMS_PER_CLAUSE = 50_000  # under Elasticsearch's index.max_terms_count (65,536) per terms query
# a missing published_at sorts last as the smallest long (19 digits)
_CURSOR = re.compile(r"(-?\d{1,19})\.([0-9A-Za-z_-]{1,128})")
_SORTS: dict[SortKey, list[dict[str, Any]]] = {
    "created": [{"created_at": "desc"}, {"id": "asc"}],
    "published": [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
}


@dataclass(frozen=True)
class AlertPage:
    alerts: list[dict[str, Any]]
    next: str | None  # the cursor of the following page; None on the last one


def alert_page(
    es: Elasticsearch,
    names: IndexNames,
    *,
    since: datetime | None = None,
    watch: str | None = None,
    state: StateFilter | None = None,
    exclude_ids: Collection[str] = (),
    only_ids: Collection[str] | None = None,
    article_ids: Collection[str] | None = None,
    after: str | None = None,
    limit: int = 100,
    sort: SortKey = "created",
) -> AlertPage:
    """Alert documents, newest first. ``watch`` is a watch name or id; ``state`` keeps alerts with at least
    one channel in that state; ``exclude_ids`` leaves those alerts out, ``only_ids`` keeps only those (the
    alerts assigned to a user); ``article_ids`` keeps the alerts of those articles (an entity page's);
    ``after`` is a page's ``next`` (of a
    listing in the same ``sort``: newest alert, or newest article with ``"published"``).
    Same-story copies are folded into their first alert (its ``also_seen``) and not listed on their own.
    Raises InvalidCursor for a cursor this listing did not produce."""
    size = max(1, min(limit, MAX_LIST))
    # one more than the page: a next cursor only when something does follow
    query = _query(since, watch, state, exclude_ids, only_ids)
    if article_ids is not None:
        query["bool"]["filter"].append({"terms": {"article_id": sorted(article_ids)[:_TERMS_PER_CLAUSE]}})
    body: dict[str, Any] = {"query": query, "size": size + 1, "sort": _SORTS[sort]}
    if after:
        body["search_after"] = decode_cursor(after)
    with es_errors("listing alerts"):
        found = es.search(index=names.alerts, **body)
    hits = found["hits"]["hits"][:size]
    more = len(found["hits"]["hits"]) > size
    return AlertPage([h["_source"] for h in hits], encode_cursor(hits[-1]["sort"]) if more else None)


def _query(
    since: datetime | None,
    watch: str | None,
    state: StateFilter | None,
    exclude_ids: Collection[str],
    only_ids: Collection[str] | None = None,
) -> dict[str, Any]:
    filters: list[dict[str, Any]] = []
    if only_ids is not None:  # empty: nothing is assigned, so nothing matches
        filters.append({"terms": {"id": sorted(only_ids)[:_TERMS_PER_CLAUSE]}})
    if since is not None:
        filters.append({"range": {"created_at": {"gte": since.isoformat()}}})
    if watch:
        either = [{"term": {"watch.id": watch}}, {"term": {"watch.name": watch}}]
        filters.append({"bool": {"should": either, "minimum_should_match": 1}})
    if state:
        filters.append({"nested": {"path": "deliveries", "query": {"term": {"deliveries.state": state}}}})
    must_not: list[dict[str, Any]] = [{"exists": {"field": "attached_to"}}]
    ids = sorted(exclude_ids)
    must_not += [{"terms": {"id": ids[i : i + _TERMS_PER_CLAUSE]}} for i in range(0, len(ids), _TERMS_PER_CLAUSE)]
    return {"bool": {"filter": filters, "must_not": must_not}}


def encode_cursor(sort_values: list[Any]) -> str:
    """``<millis>.<alert id>``: readable, and nothing in it is parsed but a number and an id."""
    millis, alert = sort_values
    return f"{int(millis)}.{alert}"


def decode_cursor(cursor: str) -> list[Any]:
    match = _CURSOR.fullmatch(cursor.strip())
    if not match:
        raise InvalidCursor("not a cursor of this alert listing: start again from the first page")
    return [int(match.group(1)), match.group(2)]
