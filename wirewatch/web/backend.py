"""Everything the workbench asks of the search stage, in one module.

The rest of ``wirewatch/web/`` imports the stage through here only, so when ``search/`` is reorganised this is
the one file whose imports change. Functions take the Elasticsearch client and index names explicitly, like the
stage's own, and raise the stage's errors (``SearchError`` and its children).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from search.alerting.alerts import existing_alert_ids, list_alerts, would_raise
from search.alerting.inbox import SORTS as ALERT_SORTS
from search.alerting.inbox import STATES as ALERT_STATES
from search.alerting.inbox import AlertPage, alert_page
from search.alerting.indices import setup_alert_indices
from search.alerting.matching import run_watch
from search.alerting.scan import AlertFilter
from search.alerting.scan import alert_page as export_alert_page
from search.alerting.watches import (
    WATCH_BOUNDS,
    Watch,
    add_query_watch,
    check_watch,
    get_watch,
    group_watch_id,
    list_watches,
    query_watch_id,
    remove_watch,
    set_watch_enabled,
)
from search.client import es_errors
from search.errors import (
    IndexMissing,
    InvalidCursor,
    InvalidWatch,
    QuerySyntaxError,
    SearchError,
    SearchUnavailable,
    WatchExists,
    WatchNotFound,
)
from search.feedstate import EsFeedStateStore
from search.indices import ensure_plain_index, setup_indices
from search.names import IndexNames
from search.querying import histogram
from search.querying.compare import MAX_SERIES, Comparison, compare, latest_published
from search.querying.fields import GroupResolver, with_filters
from search.querying.geo import near_filter, parse_bbox
from search.querying.query import MAX_LIMIT, SearchRequest, build_query, parse_when, search_articles
from search.querying.querylang import PlaceLocator, parse_query, tokenize
from search.querying.results import SearchResult, merge_passages

__all__ = [
    "ALERT_SORTS",
    "ALERT_STATES",
    "MAX_ALERT_ID",
    "MAX_LIMIT",
    "MAX_SERIES",
    "WATCH_BOUNDS",
    "AlertFilter",
    "AlertPage",
    "Comparison",
    "IndexMissing",
    "IndexNames",
    "InvalidCursor",
    "InvalidWatch",
    "QuerySyntaxError",
    "SearchError",
    "SearchRequest",
    "SearchResult",
    "SearchUnavailable",
    "Watch",
    "WatchExists",
    "WatchNotFound",
    "add_query_watch",
    "alert_exists",
    "alert_page",
    "alerts_for_article",
    "attention",
    "build_query",
    "check_watch",
    "compare",
    "disable_watch",
    "enable_watch",
    "ensure_plain_index",
    "es_errors",
    "export_alert_page",
    "feed_states",
    "get_article",
    "get_watch",
    "group_count",
    "group_watch_id",
    "latest_published",
    "list_alerts",
    "list_watches",
    "map_places",
    "merge_passages",
    "near_filter",
    "parse_bbox",
    "parse_query_check",
    "parse_when",
    "plain_terms",
    "preview_watch",
    "remove_watch",
    "same_content",
    "search_articles",
    "setup_all",
    "source_counts",
    "with_filters",
]

MAX_DAYS = 366  # longer windows are drawn per week, so the chart stays readable and the query bounded
MAX_ALERT_ID = 128  # alert ids are 32 hex digits; anything much longer is not one, and is not looked up


def alert_exists(es: Elasticsearch, names: IndexNames, alert_id: str) -> bool:
    """Whether an alert has this id (an acknowledgement is only stored for one that does)."""
    return 0 < len(alert_id) <= MAX_ALERT_ID and alert_id in existing_alert_ids(es, names, [alert_id])


def parse_query_check(
    text: str, locate: PlaceLocator | None = None, resolve_group: GroupResolver | None = None
) -> None:
    """Raise QuerySyntaxError when ``text`` is not a valid query (an empty one is: it matches everything);
    ``locate`` places its ``near:`` terms, ``resolve_group`` names its ``group:`` ones."""
    if text.strip():
        parse_query(text, locate, resolve_group)


def plain_terms(text: str) -> tuple[list[str], bool]:
    """The words and phrases of a valid query, and whether it has a ``group:`` term."""
    tokens = tokenize(text)
    words = [t.value for t in tokens if t.kind in ("WORD", "PHRASE")]
    return words, any(t.kind == "FIELD" and t.field == "group" for t in tokens)


def group_count(es: Elasticsearch, names: IndexNames, group_id: str) -> int:
    """How many articles are tagged with the group (the search page's "search group:X" hint)."""
    with es_errors("counting a group's articles"):
        found = es.count(index=names.articles, query={"term": {"group_ids": group_id}})
    return int(found["count"])


def setup_all(es: Elasticsearch, names: IndexNames) -> None:
    """The stage's indices (articles alias, feeds, watches, alerts): what ``wirewatch es setup`` creates."""
    with es_errors("setting up indices"):
        setup_indices(es, names)
        setup_alert_indices(es, names)


def get_article(es: Elasticsearch, names: IndexNames, article_id: str) -> dict[str, Any] | None:
    """The stored article document, or None when no article has that id."""
    with es_errors(f"reading article {article_id!r}"):
        found = es.search(index=names.articles, query={"ids": {"values": [article_id]}}, size=1)
    hits = found["hits"]["hits"]
    return dict(hits[0]["_source"]) if hits else None


def same_content(es: Elasticsearch, names: IndexNames, doc: dict[str, Any], *, limit: int = 20) -> list[dict[str, Any]]:
    """The other articles of this article's story (near copies: search/stories.py), and any with the same
    content hash, first seen first: the same content carried by other sources."""
    same = [{"term": {"story_id": doc["story_id"]}}] if doc.get("story_id") else []
    same += [{"term": {"content_hash": doc["content_hash"]}}] if doc.get("content_hash") else []
    if not same:
        return []
    query = {"bool": {"should": same, "minimum_should_match": 1, "must_not": [{"ids": {"values": [doc["id"]]}}]}}
    with es_errors("finding copies of an article"):
        found = es.search(
            index=names.articles,
            query=query,
            size=limit,
            source_includes=["id", "title", "url", "source", "published_at", "language"],
            sort=[{"published_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
        )
    return [hit["_source"] for hit in found["hits"]["hits"]]


def alerts_for_article(
    es: Elasticsearch, names: IndexNames, article_id: str, *, limit: int = 50
) -> list[dict[str, Any]]:
    """The alerts raised for an article, newest first."""
    with es_errors("listing an article's alerts"):
        try:
            found = es.search(
                index=names.alerts, query={"term": {"article_id": article_id}}, size=limit,
                sort=[{"created_at": "desc"}],
            )  # fmt: skip
        except NotFoundError:
            return []
    return [hit["_source"] for hit in found["hits"]["hits"]]


@dataclass(frozen=True, kw_only=True)
class Attention:
    interval: str  # "day" or "week"
    # (bucket start as YYYY-MM-DD, matching articles, all articles)
    buckets: list[tuple[str, int, int]]


def attention(es: Elasticsearch, names: IndexNames, req: SearchRequest) -> Attention:
    """Matching articles per day, and all articles per day over the same days (for the share).

    Per week when the matching articles span more than MAX_DAYS days, wider still past MAX_BUCKETS buckets;
    only dates in the histogram window count (search/querying/histogram.py), so no stored date can stretch the
    chart past its bounds. Two or three small size-0 searches.
    """
    low, high = histogram.window(req.since, req.until)
    query = {"bool": {"must": [build_query(req)], "filter": [histogram.range_filter("published_at", low, high)]}}
    with es_errors("charting attention"):
        extent = es.search(
            index=names.articles, size=0, track_total_hits=False, query=query,
            aggs={"low": {"min": {"field": "published_at"}}, "high": {"max": {"field": "published_at"}}},
        )  # fmt: skip
        first = extent["aggregations"]["low"].get("value_as_string")
        last = extent["aggregations"]["high"].get("value_as_string")
        if first is None or last is None:
            return Attention(interval="day", buckets=[])
        first_at, last_at = _parse_stamp(first), _parse_stamp(last)
        preferred = "week" if (last_at - first_at).days > MAX_DAYS else "day"
        interval = histogram.capped_interval(preferred, first_at, last_at)
        aggs = {"d": histogram.date_histogram("published_at", interval, first_at, last_at, format="yyyy-MM-dd")}
        matching = es.search(index=names.articles, size=0, track_total_hits=False, query=query, aggs=aggs)
        everything = es.search(
            index=names.articles, size=0, track_total_hits=False,
            query=histogram.range_filter("published_at", first_at, last_at), aggs=aggs,
        )  # fmt: skip
    totals = {b["key_as_string"]: int(b["doc_count"]) for b in everything["aggregations"]["d"]["buckets"]}
    buckets = [
        (b["key_as_string"], int(b["doc_count"]), totals.get(b["key_as_string"], 0))
        for b in matching["aggregations"]["d"]["buckets"]
    ]
    return Attention(interval=interval, buckets=buckets)


MAP_PLACES = 150  # points on a map: more are unreadable at phone width, and the aggregation stays small


def map_places(
    es: Elasticsearch, names: IndexNames, req: SearchRequest, *, size: int = MAP_PLACES
) -> list[tuple[str, int]]:
    """(place id, matching articles naming it), most named first: reverse_nested counts an article naming Gao
    twice once. The caller takes names and coordinates from the place table, which every process has loaded,
    rather than a top_hits per place from Elasticsearch."""
    aggs = {"p": {"nested": {"path": "places"}, "aggs": {"ids": {
        "terms": {"field": "places.id", "size": size}, "aggs": {"articles": {"reverse_nested": {}}},
    }}}}  # fmt: skip
    with es_errors("placing articles on the map"):
        found = es.search(index=names.articles, size=0, track_total_hits=False, query=build_query(req), aggs=aggs)
    return [(b["key"], int(b["articles"]["doc_count"])) for b in found["aggregations"]["p"]["ids"]["buckets"]]


def _parse_stamp(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def preview_watch(
    es: Elasticsearch,
    names: IndexNames,
    name: str,
    query_text: str,
    *,
    days: int,
    limit: int,
    resolve_group: GroupResolver | None = None,
    max_age_s: float | None = None,
    locate: PlaceLocator | None = None,
) -> list[dict[str, Any]]:
    """What a query watch would have raised on the articles indexed in the last ``days`` days (``watch test``
    before the watch exists; rows published over ``max_age_s`` before their fetch are ``too_old``). Raises
    InvalidWatch (out of the bounds a watch has) or QuerySyntaxError for a malformed query.
    Sends nothing, stores nothing."""
    check_watch(name or "preview", query_text, ())
    since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    compiled = parse_query(query_text, locate, resolve_group=resolve_group)
    scoped = {"bool": {"must": [compiled], "filter": [{"range": {"indexed_at": {"gte": since}}}]}}
    watch = Watch(
        id=query_watch_id(name or "preview"), name=name or "preview", kind="query", query=scoped,
        created_at=datetime.now(UTC).isoformat(), query_text=query_text,
    )  # fmt: skip
    return would_raise(es, names, run_watch(es, names, watch, limit=limit), max_age_s=max_age_s)


def disable_watch(es: Elasticsearch, names: IndexNames, name: str) -> Watch:
    """Turn a query watch off (it stays listed and keeps its alerts); group watches are refused."""
    return set_watch_enabled(es, names, name, False)


def enable_watch(es: Elasticsearch, names: IndexNames, name: str) -> Watch:
    """Turn a disabled query watch on again; it alerts on articles indexed from now on."""
    return set_watch_enabled(es, names, name, True)


def feed_states(es: Elasticsearch, names: IndexNames, feed_ids: list[str]) -> dict[str, dict[str, Any]]:
    return EsFeedStateStore(es, names).load(feed_ids)


def source_counts(es: Elasticsearch, names: IndexNames, *, days: int) -> dict[str, int]:
    """Articles published in the last ``days`` days, per source (feed id)."""
    since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    with es_errors("counting articles per feed"):
        found = es.search(
            index=names.articles, size=0, track_total_hits=False,
            query={"range": {"indexed_at": {"gte": since}}},
            aggs={"s": {"terms": {"field": "source", "size": 10_000}}},
        )  # fmt: skip
    return {b["key"]: int(b["doc_count"]) for b in found["aggregations"]["s"]["buckets"]}


def stable_id(*parts: str) -> str:
    """A short hash of ``parts``: ids of web documents (an acknowledgement is one per user and alert)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
