"""Alerts page by page, oldest first, for exports and feeds (the STIX export, the TAXII collections).

A page is read with ``search_after`` on (``created_at``, ``id``), so a scan of any length holds one page in
memory and a cursor, and a cursor handed out with a page resumes exactly after it. Same-story copies (folded
into their first alert's ``also_seen``) and spike alerts (numbers about a day, not an article) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.names import IndexNames

__all__ = ["AlertFilter", "AlertPage", "alert_page", "alert_pages", "alerts_by_id", "articles_by_id"]

MAX_PAGE = 1000
MGET_BATCH = 500


@dataclass(frozen=True, kw_only=True)
class AlertFilter:
    """Which alerts: created since (inclusive) or strictly after a time, of a watch (name or id), of a group."""

    since: datetime | None = None
    added_after: datetime | None = None
    watch: str | None = None
    group: str | None = None

    def query(self) -> dict[str, Any]:
        filters: list[dict[str, Any]] = []
        if self.since is not None:
            filters.append({"range": {"created_at": {"gte": self.since.isoformat()}}})
        if self.added_after is not None:
            filters.append({"range": {"created_at": {"gt": self.added_after.isoformat()}}})
        if self.watch:
            either = [{"term": {"watch.id": self.watch}}, {"term": {"watch.name": self.watch}}]
            filters.append({"bool": {"should": either, "minimum_should_match": 1}})
        if self.group:
            filters.append({"term": {"group.id": self.group}})
        not_reports = [{"exists": {"field": "attached_to"}}, {"term": {"watch.kind": "spike"}}]
        return {"bool": {"filter": filters, "must_not": not_reports}}


@dataclass(frozen=True, kw_only=True)
class AlertPage:
    alerts: list[dict[str, Any]]
    cursor: list[Any] | None  # pass as ``after`` for the next page; None after the last one
    cursors: list[list[Any]] = field(default_factory=list)  # each alert's own: resume right after it


def alert_page(
    es: Elasticsearch, names: IndexNames, which: AlertFilter, *, after: Sequence[Any] | None = None, size: int = 200
) -> AlertPage:
    """One page of alert documents, oldest first, after ``after`` (a cursor of an earlier page)."""
    size = max(1, min(size, MAX_PAGE))
    extra: dict[str, Any] = {"search_after": list(after)} if after else {}
    with es_errors("reading alerts"):
        found = es.search(
            index=names.alerts, query=which.query(), size=size, sort=[{"created_at": "asc"}, {"id": "asc"}], **extra
        )
    hits = found["hits"]["hits"]
    cursor = hits[-1]["sort"] if len(hits) == size else None
    return AlertPage(alerts=[hit["_source"] for hit in hits], cursor=cursor, cursors=[hit["sort"] for hit in hits])


def alert_pages(
    es: Elasticsearch, names: IndexNames, which: AlertFilter, *, size: int = 200
) -> Iterator[list[dict[str, Any]]]:
    """Every matching alert, a page at a time."""
    after: list[Any] | None = None
    while True:
        page = alert_page(es, names, which, after=after, size=size)
        if page.alerts:
            yield page.alerts
        if page.cursor is None:
            return
        after = page.cursor


def articles_by_id(es: Elasticsearch, names: IndexNames, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The article documents of ``ids`` that exist (without their text and story signature: not needed here)."""
    unique = list(dict.fromkeys(i for i in ids if i))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), MGET_BATCH):
        with es_errors("reading articles"):
            response = es.mget(
                index=names.articles, ids=unique[start : start + MGET_BATCH],
                source_excludes=["text", "story_sig", "story_bands", "entities", "groups.mentions"],
            )  # fmt: skip
        out.update({doc["_id"]: doc["_source"] for doc in response["docs"] if doc.get("found")})
    return out


def alerts_by_id(es: Elasticsearch, names: IndexNames, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The alert documents of ``ids`` that exist, in the order given (a channel's push of one alert or a digest)."""
    unique = list(dict.fromkeys(i for i in ids if i))
    out: list[dict[str, Any]] = []
    for start in range(0, len(unique), MGET_BATCH):
        with es_errors("reading alerts"):
            response = es.mget(index=names.alerts, ids=unique[start : start + MGET_BATCH])
        out += [doc["_source"] for doc in response["docs"] if doc.get("found")]
    return out
