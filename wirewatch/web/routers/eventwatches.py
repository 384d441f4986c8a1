"""Event watches in the workbench: the form (reached from the events view with its filters filled in), and the
API. The CLI's ``wirewatch watch add --event-type ...`` makes the same watch (search/alerting/eventwatch.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from search.alerting.eventwatch import add_event_watch, event_criteria
from wirewatch.events import EVENT_TYPES
from wirewatch.rows import watch_row
from wirewatch.web import backend
from wirewatch.web.backend import InvalidWatch, WatchExists
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.routers.watches import channel_names
from wirewatch.web.schemas import WatchRow, ok
from wirewatch.web.security import ANALYST
from wirewatch.web.store import User, WebStateError

router = APIRouter()
BOUNDS = backend.WATCH_BOUNDS
MAX_VALUES = 20  # types, groups or countries in one event watch


def create_event_watch(
    ctx: WebContext, name: str, types: list[str], groups: list[str], countries: list[str],
    min_fatalities: int | None, channels: list[str],
) -> dict[str, Any]:  # fmt: skip
    """The form's and the API's one way to add an event watch; InvalidWatch for a value it cannot use."""
    backend.check_watch(name, "event", channels)  # the bounds every door shares (the query is the criteria)
    resolve = ctx.group_names().resolve
    ids = [resolve(g) for g in groups if g.strip()]
    if None in ids:
        raise InvalidWatch(f"no tracked group is called {groups[ids.index(None)]!r}")
    criteria = event_criteria(
        types=[t for t in types if t], groups=[str(i) for i in ids],
        countries=[c.strip() for c in countries if c.strip()],
        min_fatalities=min_fatalities, known_types=EVENT_TYPES,
    )  # fmt: skip
    known = channel_names(ctx)
    unknown = sorted(set(channels) - set(known))
    if unknown:
        raise WebStateError(f"unknown channel(s): {', '.join(unknown)}; configured: {', '.join(known)}")
    return watch_row(add_event_watch(ctx.es, ctx.names, name, criteria, channels=channels or known))


@router.get("/watches/events/new", include_in_schema=False)
def new_event_watch_page(
    request: Request,
    type: list[str] = Query([]),  # the events view's parameter names, so its filters carry over
    group: str = "",
    country: str = "",
    min_fatalities: str = "",
    name: str = "",
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> Response:
    values: dict[str, Any] = {"types": EVENT_TYPES, "chosen_types": set(type), "group": group, "country": country,
              "min_fatalities": min_fatalities, "name": name, "channels": channel_names(ctx)}  # fmt: skip
    return ctx.page(request, "event_watch_new.html", **values)


@router.post("/watches/events", include_in_schema=False)
def create_event_watch_form(
    request: Request,
    name: str = Form(...),
    type: list[str] = Form([]),
    group: str = Form(""),
    country: str = Form(""),
    min_fatalities: str = Form(""),
    channel: list[str] = Form([]),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> Response:
    try:
        minimum = int(min_fatalities) if min_fatalities.strip() else None
        create_event_watch(ctx, name, type, [group], [country], minimum, channel)
    except (WatchExists, WebStateError, ValueError) as exc:  # InvalidWatch is a ValueError
        back = "/watches/events/new?" + urlencode(
            {"name": name, "group": group, "country": country, "min_fatalities": min_fatalities,
             "type": type}, doseq=True,
        )  # fmt: skip
        return ctx.page(request, "error.html", status_code=400, title="watch not saved", message=str(exc),
                        hint="", back=back)  # fmt: skip
    return RedirectResponse("/watches?" + urlencode({"saved": name}), status_code=303)


class EventWatchIn(BaseModel):
    name: str = Field(min_length=1, max_length=BOUNDS.name)
    types: list[str] = Field(default_factory=list, max_length=MAX_VALUES, description=f"Any of {EVENT_TYPES}")
    groups: list[str] = Field(default_factory=list, max_length=MAX_VALUES, description="Tracked groups (id or alias)")
    countries: list[str] = Field(default_factory=list, max_length=MAX_VALUES, description="ISO codes (BF, ML)")
    min_fatalities: int | None = Field(None, ge=0, description="At least this many killed, as stated")
    channels: list[str] = Field(
        default_factory=list, max_length=BOUNDS.channels, description="Channel names; empty means all"
    )


@router.post(
    "/api/v1/watches/events",
    summary="Add an event watch",
    tags=["watches"],
    status_code=201,
    responses=ok(WatchRow, 201),
)
def create_event_api(body: EventWatchIn, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    """Adds a watch on one event meeting every criterion given (type, group, country, minimum killed), matched
    once NER has found the events; 400 for a value it cannot use, 409 when the name is taken."""
    try:
        return create_event_watch(
            ctx, body.name, body.types, body.groups, body.countries, body.min_fatalities, body.channels
        )
    except InvalidWatch as exc:
        return JSONResponse({"error": "invalid watch", "message": str(exc)}, status_code=400)
    except WatchExists as exc:
        return JSONResponse({"error": "exists", "message": str(exc)}, status_code=409)
