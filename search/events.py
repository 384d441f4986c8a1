"""The events view: one row per event of the indexed articles (``events``, nested), filtered on the event's own
fields, and event counts over time per tracked group.

A filter matches one event: "an attack by JNIM at Djibo with at least 5 killed" is one nested query, so an
article with a JNIM arrest and an attack elsewhere does not match. Country and region belong to the place, not
the event (an event stores its place id and name): the place ids of a country or region are read from the
articles' nested ``places`` (which carry country and admin1) in one aggregation, then the event filter keeps
events at those ids. The matching events of an article come back as inner hits, with the article's fields the
rows need; the coordinates and country of a row come from the article's place of the same id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.names import IndexNames
from search.querying import histogram

MAX_EVENTS = 1000  # rows of one answer: the page, the API and one export call (narrow the filters for more)
INNER = 100  # events read per article (Elasticsearch's default inner_hits window)
MAX_PLACE_IDS = 5000  # place ids of one country named in the index: a region's towns, with room to spare
SERIES_GROUPS = 5  # tracked groups charted: the most active ones
WEEKLY_PAST_DAYS = 60  # a longer span is charted per week: daily bars would be too thin to read
_ARTICLE_FIELDS = ["title", "url", "source", "language", "published_at", "story_id", "places", "groups"]


@dataclass(frozen=True, kw_only=True)
class EventFilter:
    """Every field narrows; a tuple is any of its values. Days are event days (inclusive)."""

    types: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # admin1 names as the place table writes them ("Sahel", "Tombouctou")
    places: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    min_fatalities: int | None = None


def event_query(es: Elasticsearch, names: IndexNames, flt: EventFilter) -> dict[str, Any] | None:
    """The nested query on one event, or None when a country or region filter names no place of the index
    (no event can match)."""
    clauses: list[dict[str, Any]] = []
    if flt.types:
        clauses.append({"terms": {"events.type": list(flt.types)}})
    if flt.groups:
        clauses.append({"terms": {"events.actor_ids": list(flt.groups)}})
    if flt.places:
        clauses.append({"terms": {"events.place.id": list(flt.places)}})
    if flt.countries or flt.regions:
        ids = place_ids_in(es, names, flt.countries, flt.regions)
        if not ids:
            return None
        clauses.append({"terms": {"events.place.id": ids}})
    days: dict[str, str] = {}
    if flt.since:
        days["gte"] = flt.since.isoformat()
    if flt.until:
        days["lte"] = flt.until.isoformat()
    if days:
        clauses.append({"range": {"events.date": days}})
    if flt.min_fatalities is not None:
        clauses.append({"range": {"events.fatalities": {"gte": flt.min_fatalities}}})
    return {"bool": {"filter": clauses}}


def place_ids_in(es: Elasticsearch, names: IndexNames, countries: Sequence[str], regions: Sequence[str]) -> list[str]:
    """Ids of the places the index names in one of ``countries`` (ISO codes) and one of ``regions``."""
    clauses: list[dict[str, Any]] = []
    if countries:
        clauses.append({"terms": {"places.country": [c.upper() for c in countries]}})
    if regions:
        clauses.append({"terms": {"places.admin1": list(regions)}})
    aggs = {"p": {"nested": {"path": "places"}, "aggs": {"in": {"filter": {"bool": {"filter": clauses}}, "aggs": {
        "ids": {"terms": {"field": "places.id", "size": MAX_PLACE_IDS}}}}}}}  # fmt: skip
    with es_errors("finding the places of a country"):
        found = es.search(index=names.articles, size=0, track_total_hits=False, aggs=aggs)
    return [b["key"] for b in found["aggregations"]["p"]["in"]["ids"]["buckets"]]


def find_events(
    es: Elasticsearch, names: IndexNames, flt: EventFilter, *, limit: int = MAX_EVENTS
) -> list[dict[str, Any]]:
    """Rows of matching events, newest event day first (then newest article): the event's stored fields, its
    place's country, region and coordinates, and the article's (``article``: id, title, url, source, language,
    published_at, story_id; ``group_names``: id -> name of its tracked groups)."""
    nested = event_query(es, names, flt)
    if nested is None:
        return []
    query = {"nested": {"path": "events", "query": nested, "inner_hits": {"size": INNER, "_source": True}}}
    rows: list[dict[str, Any]] = []
    with es_errors("listing events"):
        found = es.search(
            index=names.articles, query=query, size=min(limit, MAX_EVENTS), source_includes=_ARTICLE_FIELDS,
            sort=[{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}], track_total_hits=False,
        )  # fmt: skip
    for hit in found["hits"]["hits"]:
        rows.extend(_rows(hit))
    rows.sort(key=lambda r: (r.get("date") or "", r["article"]["published_at"] or ""), reverse=True)
    return rows[:limit]


def _rows(hit: dict[str, Any]) -> list[dict[str, Any]]:
    src = hit["_source"]
    places = {p.get("id"): p for p in src.get("places") or ()}
    article = {"id": hit["_id"], **{k: src.get(k) for k in _ARTICLE_FIELDS if k not in ("places", "groups")}}
    group_names = {g["id"]: g.get("name") or g["id"] for g in src.get("groups") or () if g.get("id")}
    out = []
    for inner in hit["inner_hits"]["events"]["hits"]["hits"]:
        event = dict(inner["_source"])
        place = places.get((event.get("place") or {}).get("id")) or {}
        event["location"] = {k: place.get(k) for k in ("country", "admin1", "lat", "lon")}
        out.append({**event, "article": article, "group_names": group_names})
    return out


@dataclass(frozen=True, kw_only=True)
class EventSeries:
    interval: str  # "day" or "week"
    days: list[str]  # bucket starts, YYYY-MM-DD
    groups: dict[str, list[int]]  # group id -> events per bucket, the most active groups first


def event_series(
    es: Elasticsearch, names: IndexNames, flt: EventFilter, *, tracked: Sequence[str], top: int = SERIES_GROUPS
) -> EventSeries:
    """Matching events per event day for the ``top`` groups of ``tracked`` (the watchlist's ids: a named force
    such as "army" is no group) that have the most (an event by two groups counts for both). Per week past
    WEEKLY_PAST_DAYS; only days in the histogram window count."""
    nested = event_query(es, names, flt)
    if nested is None or not tracked:
        return EventSeries(interval="day", days=[], groups={})
    low, high = histogram.window(_day_start(flt.since), _day_start(flt.until))
    inside = {"bool": {"filter": [nested, histogram.range_filter("events.date", low, high)]}}
    aggs: dict[str, Any] = {"e": {"nested": {"path": "events"}, "aggs": {"m": {"filter": inside, "aggs": {
        "low": {"min": {"field": "events.date"}}, "high": {"max": {"field": "events.date"}},
        "g": {"terms": {"field": "events.actor_ids", "size": top, "include": list(tracked)}},
    }}}}}  # fmt: skip
    with es_errors("counting events over time"):
        first = es.search(index=names.articles, size=0, track_total_hits=False, aggs=aggs)["aggregations"]["e"]["m"]
        ids = [b["key"] for b in first["g"]["buckets"]]
        if not ids or first["low"].get("value") is None:
            return EventSeries(interval="day", days=[], groups={})
        start, end = _from_millis(first["low"]["value"]), _from_millis(first["high"]["value"])
        interval = histogram.capped_interval("week" if (end - start).days > WEEKLY_PAST_DAYS else "day", start, end)
        per = {"terms": {"field": "events.actor_ids", "include": ids, "size": len(ids)}, "aggs": {
            "d": histogram.date_histogram("events.date", interval, start, end, format="yyyy-MM-dd")}}  # fmt: skip
        aggs["e"]["aggs"]["m"]["aggs"] = {"g": per}
        found = es.search(index=names.articles, size=0, track_total_hits=False, aggs=aggs)["aggregations"]["e"]["m"]
    days: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    for bucket in found["g"]["buckets"]:
        counts[bucket["key"]] = {d["key_as_string"]: int(d["doc_count"]) for d in bucket["d"]["buckets"]}
        days = sorted(set(days) | set(counts[bucket["key"]]))
    return EventSeries(
        interval=interval, days=days, groups={g: [counts[g].get(d, 0) for d in days] for g in ids if g in counts}
    )


def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def _from_millis(millis: float) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)
