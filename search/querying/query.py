"""Analyst search over the articles alias: query language, filters, highlights, facets, cursor pagination.

By default hits are collapsed by story (``collapse``): one row per story, its best copy, with the story's
sources, first-seen time and the other matching copies; ``collapse=False`` lists every copy. Filters narrow
without scoring: any of the ``groups``, any of the ``sources``, every one of the ``entities``
(an entity is ``Name`` for any type or ``TYPE:Name``, e.g. ``PERSON:Mokhtar Belmokhtar``). Pages follow
each other through ``search_after`` with an opaque cursor, so deep pages cost the same as the first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from elasticsearch import Elasticsearch, NotFoundError

from search.client import es_errors
from search.errors import IndexMissing
from search.mappings import ENTITY_TYPES, LANGUAGE_SUBFIELDS
from search.names import IndexNames
from search.querying.fields import GroupResolver, field_clause, filter_terms
from search.querying.geo import bbox_filter, near_filter
from search.querying.histogram import capped_interval, date_histogram, window
from search.querying.querylang import PlaceLocator, parse_query
from search.querying.results import (
    RESULT_WINDOW,
    PlaceDescriber,
    SearchResult,
    StoryInfo,
    decode_cursor,
    decode_offset_cursor,
    encode_cursor,
    encode_offset_cursor,
    story_copies,
    to_facets,
    to_hit,
)
from search.stories import story_summaries

MAX_LIMIT = 100
FACET_SIZE = 10
_RELATIVE = re.compile(r"(\d{1,5})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_HIT_FIELDS = [
    "id", "title", "url", "source", "published_at", "group_ids", "story_id", "language", "site_name", "entity_names",
    "fetched_at", "groups.name", "places.name",
]  # fmt: skip
COPIES_SHOWN = 10  # other copies listed under a collapsed story row
_PUBLISHED_DESC = {"published_at": {"order": "desc", "missing": "_last"}}
_SORTS: dict[str, list[Any]] = {
    # the article id breaks ties so search_after never skips or repeats a hit
    "relevance": [{"_score": "desc"}, _PUBLISHED_DESC, {"id": "asc"}],
    "newest": [_PUBLISHED_DESC, {"id": "asc"}],
}


@dataclass(frozen=True, kw_only=True)
class SearchRequest:
    query: str = ""  # analyst query language (search/querying/querylang.py); empty matches every article
    groups: Sequence[str] = ()
    event_types: Sequence[str] = ()  # articles with an event of any of these types (enrich/events)
    entities: Sequence[str] = ()
    sources: Sequence[str] = ()
    places: Sequence[str] = ()  # place ids (enrich/places): any of them
    countries: Sequence[str] = ()  # ISO country codes of the places named: any of them
    near: str = ""  # "Gao 100km": a place named within that distance of the place (search/querying/geo.py)
    bbox: str = ""  # "west,south,east,north": a place named inside that box
    # place name or id -> (lat, lon), for ``near`` and the query language's ``near:`` (the caller's place table)
    locate: PlaceLocator | None = field(default=None, compare=False, repr=False)
    # a ``group:`` value (id, name or alias) -> the group's id (the caller's watchlist)
    resolve_group: GroupResolver | None = field(default=None, compare=False, repr=False)
    # place id -> its names and country, for the place facet (the caller's place table)
    describe_place: PlaceDescriber | None = field(default=None, compare=False, repr=False)
    since: datetime | None = None  # published at or after
    until: datetime | None = None  # published at or before
    lang: str | None = None
    sort: Literal["relevance", "newest"] = "relevance"
    limit: int = 20  # capped at MAX_LIMIT
    after: str | None = None  # the ``next`` cursor of the previous page
    collapse: bool = True  # one hit per story (its best-scoring copy); False lists every copy

    def __post_init__(self) -> None:
        if self.sort not in _SORTS:
            raise ValueError(f"sort must be one of {sorted(_SORTS)}, not {self.sort!r}")
        if self.limit < 1:
            raise ValueError("limit must be at least 1")


def search_articles(es: Elasticsearch, names: IndexNames, req: SearchRequest) -> SearchResult:
    """Run ``req``; raises QuerySyntaxError, InvalidCursor, IndexMissing or SearchUnavailable."""
    limit = min(req.limit, MAX_LIMIT)
    low, high = window(req.since, req.until)
    interval = capped_interval(histogram_interval(req.since, req.until), low, high)
    body: dict[str, Any] = {
        "query": build_query(req),
        "sort": _SORTS[req.sort],
        "size": limit,
        "track_total_hits": True,
        "_source": _HIT_FIELDS,
        "highlight": _HIGHLIGHT,
        "aggs": _facet_aggs(interval, low, high),
    }
    offset = 0
    if req.collapse:
        offset = decode_offset_cursor(req.after, req.sort) if req.after else 0
        limit = body["size"] = min(limit, RESULT_WINDOW - offset)  # from + size may not pass the window
        add_story_collapse(body, offset)
    elif req.after:
        body["search_after"] = decode_cursor(req.after, req.sort, len(_SORTS[req.sort]))
    with es_errors("searching articles"):
        try:
            response = es.search(index=names.articles, **body)
        except NotFoundError as exc:
            if exc.error != "index_not_found_exception":
                raise
            raise IndexMissing(f"alias {names.articles} does not exist: run `wirewatch es setup` first") from exc
    raw_hits = response["hits"]["hits"]
    if req.collapse:
        return collapsed_result(es, names, response, interval, req, offset, limit)
    last_sort = raw_hits[-1]["sort"] if len(raw_hits) == limit else None
    return SearchResult(
        total=int(response["hits"]["total"]["value"]),
        hits=[to_hit(h) for h in raw_hits],
        facets=to_facets(response["aggregations"], interval, req.describe_place),
        next=encode_cursor(req.sort, last_sort) if last_sort else None,
    )


def add_story_collapse(body: dict[str, Any], offset: int) -> None:
    """One hit per story, with its other matching copies as inner hits and the number of stories.

    Collapsing cannot page with ``search_after`` (it needs the sort to be the collapse field alone), so a
    collapsed search pages by offset, bounded by the index's result window (10,000 stories)."""
    inner = {"name": "copies", "size": COPIES_SHOWN, "sort": [{"fetched_at": "asc"}, {"id": "asc"}]}
    body["collapse"] = {"field": "story_id", "inner_hits": {**inner, "_source": _HIT_FIELDS}}
    body["aggs"]["stories"] = {"cardinality": {"field": "story_id"}}
    body["from"] = offset


def collapsed_result(
    es: Elasticsearch, names: IndexNames, response: Any, interval: str, req: SearchRequest, offset: int, limit: int
) -> SearchResult:
    raw_hits = response["hits"]["hits"]
    summaries = story_summaries(es, names, [h["_source"]["story_id"] for h in raw_hits if h["_source"].get("story_id")])
    hits = []
    for raw in raw_hits:
        hit = to_hit(raw)
        summary = summaries.get(hit.story_id or "")
        matching, others = story_copies(raw, "copies")
        if summary is not None:
            story = StoryInfo(
                copies=summary.copies, sources=summary.sources, first_seen=summary.first_seen, matching=matching,
                others=others, languages=summary.languages,
            )  # fmt: skip
            hit = replace(hit, story=story)
        hits.append(hit)
    more = len(raw_hits) == limit and offset + limit < RESULT_WINDOW
    return SearchResult(
        total=int(response["hits"]["total"]["value"]),
        hits=hits,
        facets=to_facets(response["aggregations"], interval, req.describe_place),
        next=encode_offset_cursor(req.sort, offset + limit) if more else None,
        collapsed=True,
        stories=int(response["aggregations"]["stories"]["value"]),
    )


def build_query(req: SearchRequest) -> dict[str, Any]:
    """The bool query. The filters (groups, languages, dates...) are written as fielded terms ANDed with the
    analyst's query (:func:`query_text`) and compiled with it, so the search form, the CLI, the API and a watch
    saved from the search give one and the same query; ``near``/``bbox`` (and any value no term can carry) are
    filters beside it. Raises QuerySyntaxError for the query, a filter's value or ``near``, ValueError for
    ``bbox``."""
    text, left_out = filter_terms(req.query, request_filters(req))
    resolve = _ids_kept(req.resolve_group, req.groups)
    filters = [field_clause(name, value, 0, resolve) for name, value in left_out]
    if req.near.strip():
        filters.append(near_filter(req.near, req.locate))
    if req.bbox.strip():
        filters.append(bbox_filter(req.bbox))
    scoring = parse_query(text, req.locate, resolve) if text.strip() else {"match_all": {}}
    return {"bool": {"must": [scoring], "filter": filters}}


def _ids_kept(resolve: GroupResolver | None, ids: Sequence[str]) -> GroupResolver | None:
    """The group filter's values are the ids articles are tagged with (a facet's values): kept as they are,
    where a ``group:`` typed in the query is resolved as a name or alias."""
    if resolve is None or not ids:
        return resolve
    kept = set(ids)
    return lambda value: value if value in kept else resolve(value)


def query_text(req: SearchRequest) -> str:
    """The request as one query in the query language: what "Watch this search" saves (``near`` as a ``near:``
    term; a bounding box has no term and stays aside)."""
    near = {"near": [req.near.strip()]} if req.near.strip() else {}
    return filter_terms(req.query, {**request_filters(req), **near})[0]


def request_filters(req: SearchRequest) -> dict[str, list[str]]:
    """The request's filters as fields of the query language (search/querying/fields.py) and their values."""
    published = [f">={_iso(req.since)}"] if req.since else []
    published += [f"<={_iso(req.until)}"] if req.until else []
    filters = {
        "group": list(req.groups), "event": list(req.event_types), "source": list(req.sources),
        "place": list(req.places), "country": list(req.countries), "lang": [req.lang] if req.lang else [],
        "entity": list(req.entities), "published": published,
    }  # fmt: skip
    return {name: values for name, values in filters.items() if values}


def _iso(moment: datetime) -> str:
    """A datetime as a ``published:`` value: UTC, ``Z``, and a bare date for a day's first or last instant
    (what ``--since 2026-11-01`` / ``--until 2026-11-30`` mean), so the search and its watch read alike."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    if utc.time() in (time.min, time.max):
        return utc.date().isoformat()
    return utc.replace(tzinfo=None).isoformat() + "Z"


_HIGHLIGHT = {
    "type": "unified",
    "encoder": "html",  # the article text is escaped, so only our <em> marks are markup
    "pre_tags": ["<em>"],
    "post_tags": ["</em>"],
    "require_field_match": True,
    "fields": {
        "title": {"number_of_fragments": 0},
        "title.exact": {"number_of_fragments": 0},
        "text": {"fragment_size": 200, "number_of_fragments": 3, "no_match_size": 200},
        "text.exact": {"fragment_size": 200, "number_of_fragments": 3},
        **{f"title.{lang}": {"number_of_fragments": 0} for lang in LANGUAGE_SUBFIELDS},
        **{f"text.{lang}": {"fragment_size": 200, "number_of_fragments": 3} for lang in LANGUAGE_SUBFIELDS},
    },
}


def _facet_aggs(interval: str, low: datetime, high: datetime) -> dict[str, Any]:
    aggs: dict[str, Any] = {
        "groups": {"terms": {"field": "group_ids", "size": FACET_SIZE}},
        "sources": {"terms": {"field": "source", "size": FACET_SIZE}},
        "languages": {"terms": {"field": "language", "size": FACET_SIZE}},
        "place_countries": {"terms": {"field": "place_countries", "size": FACET_SIZE}},
        "places": {
            "nested": {"path": "places"},
            "aggs": {
                "ids": {
                    "terms": {"field": "places.id", "size": FACET_SIZE},
                    # names come from the caller's place table (describe_place): a top_hits per bucket cost
                    # half the search's time over 10,000 articles (bench/README.md, the workbench)
                    "aggs": {"articles": {"reverse_nested": {}}},
                }
            },
        },
        # articles (not events) per event type: reverse_nested counts the articles each bucket's events are in
        "events": {
            "nested": {"path": "events"},
            "aggs": {
                "types": {
                    "terms": {"field": "events.type", "size": FACET_SIZE},
                    "aggs": {"articles": {"reverse_nested": {}}},
                }
            },
        },
        "dates": date_histogram("published_at", interval, low, high),
    }
    for entity_type in ENTITY_TYPES:
        field = f"entity_names.{entity_type.lower()}"
        aggs[f"entity_{entity_type.lower()}"] = {"terms": {"field": field, "size": FACET_SIZE}}
    return aggs


def histogram_interval(since: datetime | None, until: datetime | None) -> str:
    """A bucket width that gives a readable number of bars for the window (month when it is open-ended)."""
    if since is None:
        return "month"
    span = (until or datetime.now(UTC)) - (since if since.tzinfo else since.replace(tzinfo=UTC))
    if span <= timedelta(days=2):
        return "hour"
    if span <= timedelta(days=90):
        return "day"
    if span <= timedelta(days=730):
        return "week"
    return "month"


def parse_when(text: str, *, end_of_day: bool = False, now: datetime | None = None) -> datetime:
    """``7d``/``24h``/``30m``/``2w`` ago, or an ISO date or datetime (UTC when it has no zone).

    A bare date means its start, or its last instant with ``end_of_day`` (so ``--until 2024-05-01`` includes
    that whole day). Raises ValueError with the accepted forms.
    """
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        return (now or datetime.now(UTC)) - timedelta(**{unit: amount})
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date: use 7d, 24h, 30m, 2w, 2024-05-01 or 2024-05-01T12:00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
