"""Watches: the list, "watch this search" with a preview of what it would have raised, channels, disable and enable."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from wirewatch.places import locate_place
from wirewatch.rows import watch_row
from wirewatch.runtime import ConfigError
from wirewatch.web import backend
from wirewatch.web.backend import InvalidWatch, QuerySyntaxError, WatchExists
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.schemas import WatchRow, WouldRaise, ok
from wirewatch.web.security import ANALYST, VIEWER
from wirewatch.web.store import User, WebStateError

router = APIRouter()
PREVIEW_LIMIT = 50
# the search's filters a watch keeps, as fielded terms of its query (URL parameter -> field)
KEPT_FILTERS = {"group": "group", "event_type": "event", "source": "source", "place": "place", "country": "country",
                "lang": "lang", "entity": "entity", "since": "published", "until": "published",
                "near": "near"}  # fmt: skip
# the dates as published: bounds (an age such as 7d stays an age: the watch counts it back from each match)
DATE_BOUNDS = {"since": ">=", "until": "<="}
# and those it cannot: a watch's query has no place table for near:/bbox
DROPPED_FILTERS = ("bbox",)


def channel_names(ctx: WebContext) -> list[str]:
    try:
        return sorted(ctx.runtime.channels())
    except ConfigError as exc:
        raise WebStateError(f"the channels file cannot be used: {exc}") from exc


def create_watch(ctx: WebContext, name: str, query: str, channels: list[str]) -> dict[str, Any]:
    """The form's and the API's one way to add a watch; InvalidWatch past the bounds every door shares."""
    backend.check_watch(name, query, channels)  # first: a list past the bounds is not compared nor echoed
    ctx.field_values().check_query(query)  # an unknown group, country... is an error with suggestions
    known = channel_names(ctx)
    unknown = sorted(set(channels) - set(known))
    if unknown:
        raise WebStateError(f"unknown channel(s): {', '.join(unknown)}; configured: {', '.join(known)}")
    watch = backend.add_query_watch(
        ctx.es,
        ctx.names,
        name,
        query,
        channels=channels or known,
        resolve_group=ctx.group_names().resolve,
        locate=locate_place,
    )
    return watch_row(watch)


@router.get("/watches", include_in_schema=False)
def watches_page(request: Request, saved: str = "", user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    rows = [watch_row(w) for w in backend.list_watches(ctx.es, ctx.names)]
    # "Saved watch X" names a watch that exists, as stored: the URL's text is never shown (a link could say
    # anything in our voice)
    key = saved.strip().casefold()
    saved_name = next((r["name"] for r in rows if key and r["name"].casefold() == key), None)
    return ctx.page(request, "watches.html", rows=rows, saved_name=saved_name)


@router.get("/watches/new", include_in_schema=False)
def new_watch_page(
    request: Request,
    q: str = "",
    name: str = "",
    days: int = Query(0, ge=0, le=3650),
    preview: bool = False,
    channel: list[str] = Query([]),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> Response:
    days = days or ctx.settings.web_preview_days
    # a watch is a query in the query language: the search's filters (dates too) become fielded terms of it;
    # a bounding box cannot come along (no term for it), so it is named
    params = request.query_params.multi_items()
    kept: dict[str, list[str]] = {}
    for key, value in params:
        if key in KEPT_FILTERS and value.strip():
            kept.setdefault(KEPT_FILTERS[key], []).append(DATE_BOUNDS.get(key, "") + value.strip())
    q, unwritable = backend.with_filters(q, kept)
    dropped = [f"{k}={v}" for k, v in params if k in DROPPED_FILTERS and v] + unwritable
    values: dict[str, Any] = {"q": q, "name": name, "days": days, "matches": None, "error": None, "dropped": dropped,
                              "channels": channel_names(ctx), "chosen": set(channel)}  # fmt: skip
    if preview and q.strip():
        try:
            ctx.field_values().check_query(q)
            values["matches"] = backend.preview_watch(
                ctx.es,
                ctx.names,
                name,
                q,
                days=days,
                limit=PREVIEW_LIMIT,
                resolve_group=ctx.group_names().resolve,
                max_age_s=ctx.settings.alert_max_age_s,
                locate=locate_place,
            )
        except QuerySyntaxError as exc:
            values["error"] = {"message": exc.reason, "position": exc.position}
        except InvalidWatch as exc:
            values["error"] = {"message": str(exc), "position": None}
    return ctx.page(request, "watch_new.html", **values)


@router.post("/watches", include_in_schema=False)
def create_watch_form(
    request: Request,
    name: str = Form(...),
    q: str = Form(...),
    channel: list[str] = Form([]),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> Response:
    try:
        create_watch(ctx, name, q, channel)
    except (QuerySyntaxError, WatchExists, WebStateError, ValueError) as exc:
        back = "/watches/new?" + urlencode({"q": q, "name": name})
        return ctx.page(request, "error.html", status_code=400, title="watch not saved", message=str(exc),
                        hint="", back=back)  # fmt: skip
    return RedirectResponse("/watches?" + urlencode({"saved": name}), status_code=303)


@router.post("/watches/disable", include_in_schema=False)
def disable_form(name: str = Form(...), user: User = ANALYST, ctx: WebContext = CTX) -> Response:
    backend.disable_watch(ctx.es, ctx.names, name)
    return RedirectResponse("/watches", status_code=303)


@router.post("/watches/enable", include_in_schema=False)
def enable_form(name: str = Form(...), user: User = ANALYST, ctx: WebContext = CTX) -> Response:
    backend.enable_watch(ctx.es, ctx.names, name)
    return RedirectResponse("/watches", status_code=303)


@router.post("/watches/remove", include_in_schema=False)
def remove_form(name: str = Form(...), user: User = ANALYST, ctx: WebContext = CTX) -> Response:
    backend.remove_watch(ctx.es, ctx.names, name)
    return RedirectResponse("/watches", status_code=303)


BOUNDS = backend.WATCH_BOUNDS  # the CLI's and the form's too (search.alerting.watches.check_watch)


class WatchIn(BaseModel):
    name: str = Field(min_length=1, max_length=BOUNDS.name)
    query: str = Field(min_length=1, max_length=BOUNDS.query)
    channels: list[str] = Field(
        default_factory=list, max_length=BOUNDS.channels, description="Channel names; empty means all"
    )


class PreviewIn(BaseModel):
    query: str = Field(min_length=1, max_length=BOUNDS.query)
    name: str = Field("", max_length=BOUNDS.name)
    days: int = Field(30, ge=1, le=3650)
    limit: int = Field(20, ge=1, le=500)


def _bad_query(exc: QuerySyntaxError) -> JSONResponse:
    return JSONResponse({"error": "query syntax", "message": exc.reason, "position": exc.position}, status_code=400)


@router.get("/api/v1/watches", summary="List watches", tags=["watches"], responses=ok(list[WatchRow]))
def list_api(user: User = VIEWER, ctx: WebContext = CTX) -> list[dict[str, Any]]:
    """The rows of `wirewatch watch list --json`."""
    return [watch_row(w) for w in backend.list_watches(ctx.es, ctx.names)]


@router.post(
    "/api/v1/watches", summary="Add a query watch", tags=["watches"], status_code=201, responses=ok(WatchRow, 201)
)
def create_api(body: WatchIn, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    """Adds an analyst query watch (409 when the name is taken, 400 for a syntax error with its `position`)."""
    try:
        return create_watch(ctx, body.name, body.query, body.channels)
    except QuerySyntaxError as exc:
        return _bad_query(exc)
    except InvalidWatch as exc:
        return JSONResponse({"error": "invalid watch", "message": str(exc)}, status_code=400)
    except WatchExists as exc:
        return JSONResponse({"error": "exists", "message": str(exc)}, status_code=409)


@router.post(
    "/api/v1/watches/preview",
    summary="What a query would have raised",
    tags=["watches"],
    responses=ok(list[WouldRaise]),
)
def preview_api(body: PreviewIn, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    """The rows of `wirewatch watch test --json` for a query not saved yet, over articles indexed in the last
    `days` days. Sends nothing."""
    try:
        ctx.field_values().check_query(body.query)
        return backend.preview_watch(
            ctx.es, ctx.names, body.name, body.query, days=body.days, limit=body.limit,
            resolve_group=ctx.group_names().resolve, max_age_s=ctx.settings.alert_max_age_s, locate=locate_place,
        )  # fmt: skip
    except QuerySyntaxError as exc:
        return _bad_query(exc)
    except InvalidWatch as exc:
        return JSONResponse({"error": "invalid watch", "message": str(exc)}, status_code=400)


@router.get(
    "/api/v1/watches/{name}/test", summary="Test a saved watch", tags=["watches"], responses=ok(list[WouldRaise])
)
def test_api(
    name: str,
    days: int = Query(3650, ge=1, le=36500),
    limit: int = Query(20, ge=1, le=500),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Any:
    """`wirewatch watch test NAME --json`: what the watch would have raised (query watches)."""
    watch = backend.get_watch(ctx.es, ctx.names, name)
    if watch.kind != "query" or not watch.query_text:
        message = f"{name!r} is {'an' if watch.kind == 'event' else 'a'} {watch.kind} watch"
        return JSONResponse({"error": "not a query watch", "message": message}, status_code=400)
    return backend.preview_watch(
        ctx.es, ctx.names, watch.name, watch.query_text, days=days, limit=limit,
        resolve_group=ctx.group_names().resolve, max_age_s=ctx.settings.alert_max_age_s, locate=locate_place,
    )  # fmt: skip


@router.post(
    "/api/v1/watches/{name}/disable", summary="Disable a query watch", tags=["watches"], responses=ok(WatchRow)
)
def disable_api(name: str, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    """Stops the watch raising alerts; it stays listed with its alerts."""
    return watch_row(backend.disable_watch(ctx.es, ctx.names, name))


@router.post(
    "/api/v1/watches/{name}/enable", summary="Enable a disabled query watch", tags=["watches"], responses=ok(WatchRow)
)
def enable_api(name: str, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    """Turns the watch on again: it alerts on articles indexed from now on."""
    return watch_row(backend.enable_watch(ctx.es, ctx.names, name))


class WatchPatch(BaseModel):
    enabled: bool = Field(description="false stops the watch raising alerts; true turns it on again")


@router.patch(
    "/api/v1/watches/{name}", summary="Enable or disable a query watch", tags=["watches"], responses=ok(WatchRow)
)
def patch_api(name: str, body: WatchPatch, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    """`{"enabled": true}` or `{"enabled": false}`: the same as the `enable` and `disable` routes."""
    toggle = backend.enable_watch if body.enabled else backend.disable_watch
    return watch_row(toggle(ctx.es, ctx.names, name))


@router.delete("/api/v1/watches/{name}", summary="Remove a query watch", tags=["watches"], responses=ok(WatchRow))
def remove_api(name: str, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    """Deletes the watch (its past alerts stay)."""
    return watch_row(backend.remove_watch(ctx.es, ctx.names, name))
