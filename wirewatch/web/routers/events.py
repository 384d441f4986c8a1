"""Events: the page (``/events``: a table, a map and events over time per group), ``/api/v1/events`` and the
export (``/api/v1/events/export``, CSV or JSON in ACLED-like columns, see wirewatch/events.py).

The whole state is in the query string (repeated ``type``, ``group``, ``country``, ``region``, ``place``;
``since``/``until`` as event days; ``min_fatalities``), so a view is a link.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from search.events import MAX_EVENTS, EventFilter, event_series, find_events
from wirewatch.events import EVENT_TYPES, BadEventFilter, acled_row, csv_lines, event_filter
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.eventchart import series_svg
from wirewatch.web.geomap import map_svg, place_points
from wirewatch.web.schemas import EventsResponse, ok, ok_file
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User

router = APIRouter()
PAGE_ROWS = 200  # rows on the page; the export has up to MAX_EVENTS
_TYPES_HELP = f"Event type ({', '.join(EVENT_TYPES)}); repeat for any"


@dataclass
class EventState:
    type: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)
    place: list[str] = field(default_factory=list)
    since: str = ""
    until: str = ""
    min_fatalities: str = ""  # as typed: to_filter says when it is no number

    def query_string(self, **changes: Any) -> str:
        """This view's query string; a change replaces a key (None removes it)."""
        values = {**asdict(self), **changes}
        pairs = []
        for key, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                if item not in ("", None):
                    pairs.append((key, str(item)))
        return urlencode(pairs)


def state_from(
    type: list[str] | None = Query(None, description=_TYPES_HELP),
    group: list[str] | None = Query(None, description="Tracked group (id, name or alias) among the actors"),
    country: list[str] | None = Query(None, description="Country code of the event's place (BF); repeat for any"),
    region: list[str] | None = Query(None, description="Region (admin1) of the event's place (Sahel)"),
    place: list[str] | None = Query(None, description="Place id of the event (gn:2361177: Djibo)"),
    since: str = Query("", description="Event day from (YYYY-MM-DD, inclusive)"),
    until: str = Query("", description="Event day until (YYYY-MM-DD, inclusive)"),
    min_fatalities: str = Query("", description="At least this many killed (stated in the sentence)"),
) -> EventState:
    def given(values: list[str] | None) -> list[str]:
        return list(dict.fromkeys(v.strip() for v in values or () if v.strip()))

    return EventState(
        type=given(type), group=given(group), country=given(country), region=given(region), place=given(place),
        since=since.strip(), until=until.strip(), min_fatalities=min_fatalities.strip(),
    )  # fmt: skip


_STATE = Depends(state_from)


def to_filter(state: EventState, ctx: WebContext) -> EventFilter:
    resolve = ctx.group_names().resolve
    least = state.min_fatalities
    if least and not least.isdigit():
        raise BadEventFilter("min_fatalities", f"minimum fatalities: {least!r} is not a whole number (5, 10)")
    return event_filter(
        types=state.type, groups=[resolve(g) or g for g in state.group], countries=state.country,
        regions=state.region, places=state.place, since=state.since, until=state.until,
        min_fatalities=int(least) if least else None,
    )  # fmt: skip


def _tracked(ctx: WebContext) -> list[str]:
    """The watchlist's group ids (read once while the file is unchanged, with the names ``group`` resolves)."""
    return sorted(set(ctx.group_names().by_form.values()))


def _bad(exc: BadEventFilter) -> JSONResponse:
    return JSONResponse({"error": "bad filter", "field": exc.field, "message": str(exc)}, status_code=400)


@router.get("/events", include_in_schema=False)
def events_page(request: Request, state: EventState = _STATE, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    values: dict[str, Any] = {"state": state, "types": EVENT_TYPES, "error": None, "rows": [], "chart": ""}
    try:
        flt = to_filter(state, ctx)
    except BadEventFilter as exc:
        values["error"] = {"field": exc.field, "message": str(exc)}
        return ctx.page(request, "events.html", status_code=400, **values)
    found = find_events(ctx.es, ctx.names, flt, limit=PAGE_ROWS)
    series = event_series(ctx.es, ctx.names, flt, tracked=_tracked(ctx))
    names = {g: n for r in found for g, n in r["group_names"].items()}
    at = Counter(str((r.get("place") or {}).get("id")) for r in found if (r.get("place") or {}).get("id"))
    points = place_points(sorted(at.items()), lambda pid: "/events?" + state.query_string(place=[pid]))
    values.update(
        rows=[{**acled_row(r), "place_id": (r.get("place") or {}).get("id")} for r in found], series=series,
        chart=series_svg(series.days, series.groups, names, interval=series.interval), group_labels=names,
        map=map_svg(points, label="Places of the events listed") if points else "",
    )  # fmt: skip
    return ctx.page(request, "events.html", **values)


@router.get(
    "/api/v1/events",
    summary="Events: who did what, where, when, how many killed",
    tags=["events"],
    responses=ok(EventsResponse),
)
def events_api(
    state: EventState = _STATE,
    limit: int = Query(100, ge=1, le=MAX_EVENTS),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Any:
    """`{"events": [...], "series": {"interval", "days", "groups": {group id: [count per day]}}}`: the matching
    events (ACLED-like columns, newest event day first, up to `limit`) and events per day of the most active
    tracked groups (the events page's chart). One row per article reporting an event (`story_id` ties the
    reports of one story)."""
    try:
        flt = to_filter(state, ctx)
    except BadEventFilter as exc:
        return _bad(exc)
    series = event_series(ctx.es, ctx.names, flt, tracked=_tracked(ctx))
    return {
        "events": [acled_row(r) for r in find_events(ctx.es, ctx.names, flt, limit=limit)],
        "series": {"interval": series.interval, "days": series.days, "groups": series.groups},
    }


@router.get(
    "/api/v1/events/export",
    summary="Export events as CSV or JSON (ACLED-like columns)",
    tags=["events"],
    responses=ok_file("text/csv", "CSV (UTF-8 with BOM) in ACLED-like columns, or a JSON list with format=json"),
)
def events_export(
    state: EventState = _STATE,
    format: Literal["csv", "json"] = "csv",
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Response:
    """Up to 1000 matching events: CSV (UTF-8 with a byte-order mark; event_date, event_type, sub_event_type,
    actor1, actor2, country, admin1, location, latitude, longitude, fatalities, wounded, claim, source,
    source_url, notes = the sentence, language, article_id, story_id) or JSON (a list of the same objects)."""
    try:
        flt = to_filter(state, ctx)
    except BadEventFilter as exc:
        return _bad(exc)
    rows = [acled_row(r) for r in find_events(ctx.es, ctx.names, flt)]
    if format == "json":
        return Response(
            json.dumps(rows, ensure_ascii=False), media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="wirewatch-events.json"'},
        )  # fmt: skip
    return StreamingResponse(
        _chunks(rows), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="wirewatch-events.csv"'},
    )  # fmt: skip


def _chunks(rows: list[dict[str, Any]]) -> Iterator[str]:
    yield from csv_lines(rows)
