"""Search: the page (``/``, ``/search``), ``/api/v1/search`` and the CSV / JSON export of a result set.

The whole state is in the URL's query string (``q``, repeated ``group``/``entity``/``source``/``place``/``country``,
``near`` (``Gao 100km``), ``bbox`` (``west,south,east,north``), ``lang``,
``since``, ``until``, ``sort``, ``after``, and ``collapse=0`` to list every copy of a story instead of one row
per story), so a search is a link: shareable, bookmarkable, and the back button
goes to the previous one.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from wirewatch.fieldvalues import FieldValues
from wirewatch.groupnames import GroupNames
from wirewatch.places import describe_place, locate_place
from wirewatch.web import backend
from wirewatch.web.backend import MAX_LIMIT, InvalidCursor, QuerySyntaxError, SearchRequest
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.exporting import csv_lines, export_rows, json_lines
from wirewatch.web.render import attention_svg
from wirewatch.web.schemas import AttentionResponse, SearchResponse, ok, ok_file
from wirewatch.web.search_panels import group_hints, search_map
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User

router = APIRouter()
log = logging.getLogger("wirewatch.web")
STATE_KEYS = ("q", "group", "entity", "source", "place", "country", "near", "bbox", "lang", "since", "until", "sort")
SYNTAX_HINT = 'words, "exact phrases", AND / OR / NOT, +word / -word, prefix*, (grouping), fields (group:aqim lang:fr)'


@dataclass
class SearchState:
    """The search as the URL holds it; ``request`` is None while a parameter is invalid."""

    q: str = ""
    group: list[str] = field(default_factory=list)
    event_type: list[str] = field(default_factory=list)
    entity: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    place: list[str] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    near: str = ""  # "Gao 100km"
    bbox: str = ""  # "west,south,east,north"
    lang: str = ""
    since: str = ""
    until: str = ""
    sort: Literal["relevance", "newest"] = "relevance"
    after: str = ""
    collapse: bool = True  # one row per story; False (collapse=0 in the URL) lists every copy

    def pairs(self, *, drop: tuple[str, ...] = ("after",)) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for key, value in asdict(self).items():
            if key in drop:
                continue
            if key == "collapse":
                out += [] if value else [("collapse", "0")]  # the default stays out of the URL
                continue
            values = value if isinstance(value, list) else [value]
            out += [(key, str(v)) for v in values if v not in ("", None) and not (key == "sort" and v == "relevance")]
        return out

    def query_string(self, **changes: Any) -> str:
        """This search's query string, with ``changes`` (a list value adds to the filter, a None removes it)."""
        pairs = self.pairs()
        for key, value in changes.items():
            if value is None:
                pairs = [(k, v) for k, v in pairs if k != key]
            elif isinstance(value, tuple):  # ("add", v) or ("remove", v)
                action, item = value
                pairs = [(k, v) for k, v in pairs if not (k == key and v == item)]
                if action == "add":
                    pairs.append((key, item))
            else:
                pairs = [(k, v) for k, v in pairs if k != key] + [(key, _text(value))]
        return urlencode(pairs)


def _text(value: Any) -> str:
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


def state_from(
    q: str = Query("", description='Query: words, "exact phrases", AND / OR / NOT, +word / -word, prefix*, (...)'),
    group: list[str] | None = Query(None, description="Tracked group id; repeat for any of several"),
    event_type: list[str] | None = Query(None, description="Event type (attack, abduction...); repeat for any"),
    entity: list[str] | None = Query(None, description="Entity name or TYPE:Name; repeat to require all"),
    source: list[str] | None = Query(None, description="Feed id; repeat for any of several"),
    place: list[str] | None = Query(None, description="Place id (gn:2457163: Gao, Mali); repeat for any of several"),
    country: list[str] | None = Query(None, description="Country code of a place named (ML); repeat for any"),
    near: str = Query("", description="A place named within a distance of a place: Gao 100km (as near: in q)"),
    bbox: str = Query("", description="A place named inside a box: west,south,east,north in degrees (-5,10,5,20)"),
    lang: str = "",
    since: str = Query("", description="Published since: 7d, 24h, 30m, 2w or a date (2024-05-01)"),
    until: str = Query("", description="Published until (inclusive): a date or datetime"),
    sort: Literal["relevance", "newest"] = "relevance",
    after: str = Query("", description="The `next` cursor of the previous page (same sort and collapse)"),
    collapse: bool = Query(True, description="One row per story (default); 0 lists every copy (CLI --no-collapse)"),
) -> SearchState:
    return SearchState(
        q=q, group=_given(group), event_type=_given(event_type), entity=_given(entity), source=_given(source),
        place=_given(place), country=_given(country), near=near.strip(), bbox=bbox.strip(), lang=lang.strip(),
        since=since.strip(), until=until.strip(), sort="newest" if sort == "newest" else "relevance",
        after=after.strip(), collapse=collapse,
    )  # fmt: skip


def _given(values: list[str] | None) -> list[str]:
    """The filter values that say something (the search form sends its empty boxes too), without repeats."""
    return list(dict.fromkeys(v.strip() for v in values or () if v.strip()))


class BadSearch(ValueError):
    """A search parameter that cannot be used; ``position`` is set for a query syntax error."""

    def __init__(self, message: str, *, field: str, position: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.position = position


# the search's filter parameters and the query-language fields they are
FILTER_PARAMS = {"group": "group", "event_type": "event", "source": "source", "place": "place", "country": "country",
                 "lang": "lang", "entity": "entity"}  # fmt: skip


def to_request(
    state: SearchState, *, limit: int, groups: GroupNames | None = None, values: FieldValues | None = None
) -> SearchRequest:
    """The search stage's request; BadSearch for a malformed query, date or filter value (a cursor is checked
    by the stage). ``values`` (or just ``groups``) resolves ``group:`` names and aliases to ids and, with
    ``values``, refuses unknown groups, countries, sources and event types with suggestions."""
    groups = values.groups if values else groups
    resolve = groups.resolve if groups else None
    try:
        if values:
            values.check_query(state.q)
        backend.parse_query_check(state.q, locate_place, resolve)
    except QuerySyntaxError as exc:
        raise BadSearch(exc.reason, field="q", position=exc.position) from exc
    _check_filters(state, values)
    _check_geo(state)
    since = until = None
    try:
        since = backend.parse_when(state.since) if state.since else None
    except ValueError as exc:
        raise BadSearch(str(exc), field="since") from exc
    try:
        until = backend.parse_when(state.until, end_of_day=True) if state.until else None
    except ValueError as exc:
        raise BadSearch(str(exc), field="until") from exc
    entities = [groups.canonical_entity(e) for e in state.entity] if groups else state.entity
    req = SearchRequest(
        query=state.q, groups=state.group, event_types=state.event_type, entities=entities,
        sources=state.source, places=state.place, countries=state.country, near=state.near, bbox=state.bbox,
        locate=locate_place, describe_place=describe_place, resolve_group=resolve, since=since, until=until,
        lang=state.lang or None, sort=state.sort, limit=limit, after=state.after or None, collapse=state.collapse,
    )  # fmt: skip
    try:
        backend.build_query(req)  # a filter value the query language refuses (lang=klingon)
    except QuerySyntaxError as exc:
        raise BadSearch(exc.reason, field="q") from exc
    return req


def _check_filters(state: SearchState, values: FieldValues | None) -> None:
    if values is None:
        return
    filters = {field: getattr(state, param) for param, field in FILTER_PARAMS.items()}
    filters["lang"] = [state.lang] if state.lang else []
    found = values.check_filters({k: v for k, v in filters.items() if v})
    if found:
        param = next(p for p, f in FILTER_PARAMS.items() if f == found[0])
        raise BadSearch(found[1], field=param)


def _check_geo(state: SearchState) -> None:
    """A bad ``near`` or ``bbox`` is the form field's error, not the query's."""
    try:
        if state.near:
            backend.near_filter(state.near, locate_place)
    except QuerySyntaxError as exc:
        raise BadSearch(exc.reason, field="near") from exc
    try:
        if state.bbox:
            backend.parse_bbox(state.bbox)
    except ValueError as exc:
        raise BadSearch(str(exc), field="bbox") from exc


_STATE = Depends(state_from)


@router.get("/", include_in_schema=False)
def home(user: User = VIEWER) -> Response:
    return RedirectResponse("/search", status_code=307)


@router.get("/search", include_in_schema=False)
def search_page(
    request: Request,
    state: SearchState = _STATE,
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Response:
    values: dict[str, Any] = {"state": state, "result": None, "error": None, "chart": "", "hint": SYNTAX_HINT}
    try:
        req = to_request(state, limit=ctx.settings.web_page_size, values=ctx.field_values())
        result = backend.search_articles(ctx.es, ctx.names, req)
        whole = SearchRequest(**{**_fields(req), "after": None})
        chart = backend.attention(ctx.es, ctx.names, whole)
        places = backend.map_places(ctx.es, ctx.names, whole)
    except BadSearch as exc:
        values["error"] = {"field": exc.field, "message": str(exc), "position": exc.position}
        return ctx.page(request, "search.html", status_code=400, **values)
    except InvalidCursor as exc:
        values["error"] = {"field": "after", "message": str(exc), "position": None}
        return ctx.page(request, "search.html", status_code=400, **values)
    values["result"] = result.as_dict()
    values["chart"] = attention_svg(chart.buckets, interval=chart.interval)
    values["chart_interval"] = chart.interval
    values["chart_rows"] = chart.buckets
    values["group_hints"] = group_hints(ctx, state)
    values["map"] = search_map(state, places)
    return ctx.page(request, "search.html", **values)


def _fields(req: SearchRequest) -> dict[str, Any]:
    return {k: getattr(req, k) for k in req.__dataclass_fields__}


@router.get("/api/v1/search", summary="Search articles", tags=["search"], responses=ok(SearchResponse))
def search_api(
    state: SearchState = _STATE,
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Any:
    """The same JSON as `wirewatch search --json`: `{"total", "collapsed", "stories", "hits", "facets", "next"}`.
    By default one hit per story, with `story` (copies, sources, first seen, the other matching copies);
    `collapse=0` lists every copy (`--no-collapse`). Pass `next` as `after` (with the same `sort` and
    `collapse`) for the following page. A syntax error answers 400 with its `position`."""
    try:
        req = to_request(state, limit=limit, values=ctx.field_values())
        return backend.search_articles(ctx.es, ctx.names, req).as_dict()
    except BadSearch as exc:
        return JSONResponse(
            {"error": "bad search", "field": exc.field, "message": str(exc), "position": exc.position}, status_code=400
        )
    except InvalidCursor as exc:
        return JSONResponse({"error": "bad search", "field": "after", "message": str(exc)}, status_code=400)


@router.get(
    "/api/v1/attention",
    summary="Articles per day matching a search, and their share",
    tags=["search"],
    responses=ok(AttentionResponse),
)
def attention_api(state: SearchState = _STATE, user: User = VIEWER, ctx: WebContext = CTX) -> Any:
    """`{"interval", "buckets": [{"date", "count", "total", "share"}]}`: matching and all articles per day."""
    try:
        req = to_request(state, limit=1, values=ctx.field_values())
    except BadSearch as exc:
        return JSONResponse({"error": "bad search", "field": exc.field, "message": str(exc)}, status_code=400)
    chart = backend.attention(ctx.es, ctx.names, req)
    buckets = [{"date": d, "count": c, "total": t, "share": round(c / t, 4) if t else 0.0} for d, c, t in chart.buckets]
    return {"interval": chart.interval, "buckets": buckets}


@router.get(
    "/api/v1/search/export",
    summary="Export a result set as CSV or JSON lines",
    tags=["search"],
    responses=ok_file("text/csv", "CSV (UTF-8 with BOM), or JSON lines (application/x-ndjson) with format=json"),
)
def export(
    state: SearchState = _STATE,
    format: Literal["csv", "json"] = "csv",
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Response:
    """Streams every matching article, page after page, up to the `web_export_max` setting. CSV (UTF-8 with a
    byte-order mark; id, title, url, source, published_at, groups, language, site_name, entities, snippet,
    story_copies, story_sources, fetched_at, group_names, places, story_id), or JSON lines with the same
    columns (lists as lists)."""
    try:
        req = to_request(state, limit=MAX_LIMIT, values=ctx.field_values())
    except BadSearch as exc:
        return JSONResponse({"error": "bad search", "field": exc.field, "message": str(exc)}, status_code=400)
    # the first page is read here, before any byte is sent: if Elasticsearch fails now, the answer is its error
    # (503...), not a 200 with an empty file
    rows = export_rows(ctx, req, ctx.settings.web_export_max)
    if format == "json":
        return StreamingResponse(
            json_lines(rows),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="wirewatch-search.jsonl"'},
        )
    return StreamingResponse(
        csv_lines(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="wirewatch-search.csv"'},
    )
