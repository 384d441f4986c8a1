"""The alerts inbox: newest first (or by publication), filters by watch and delivery state, per-channel delivery,
acknowledgements and assignees.

Acknowledging is per user by default: an alert one analyst has dealt with stays new for the others. An
acknowledgement for the team counts for every user, and everybody sees who made it and when. An alert has
at most one assignee, seen by everybody (who assigned it, and when); "mine" lists the alerts assigned to me.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response

from wirewatch.web import backend
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.schemas import Acknowledgement, Alert, Assignment, ok
from wirewatch.web.security import ANALYST, VIEWER
from wirewatch.web.store import User

router = APIRouter()
State = Literal["pending", "failed", "delivered", "unconfigured", "suppressed"]
Sort = Literal["created", "published"]
PAGE = 100


def inbox(
    ctx: WebContext, user: User, *, watch: str, state: str, unacknowledged: bool, limit: int, after: str = "",
    sort: str = "created", mine: bool = False,
) -> backend.AlertPage:  # fmt: skip
    """A page of alert documents (as `wirewatch alerts list --json`), each with `acknowledged_at`,
    `acknowledged_by` and `acknowledged_for_team` (None, None, False when neither this user nor the team
    acknowledged it), and `assignee`, `assigned_by`, `assigned_at` (None when unassigned). `mine`: only the
    alerts assigned to this user. Every filter is in the query, so a page is full while older matching alerts exist.
    Raises InvalidCursor for an ``after`` this listing did not produce."""
    chosen = state if state in backend.ALERT_STATES else None
    excluded = ctx.store.acknowledged_ids(user.username) if unacknowledged else []
    only = ctx.store.assigned_ids(user.username) if mine else None
    page = backend.alert_page(
        ctx.es, ctx.names, watch=watch or None, state=chosen, exclude_ids=excluded, only_ids=only,
        after=after or None, limit=limit, sort="published" if sort == "published" else "created",
    )  # fmt: skip
    ids = [a["id"] for a in page.alerts]
    acks, assigned = ctx.store.acknowledged(user.username, ids), ctx.store.assignments(ids)
    rows = [{**a, **_ack_fields(acks.get(a["id"])), **_assign_fields(assigned.get(a["id"]))} for a in page.alerts]
    return backend.AlertPage(rows, page.next)


def _ack_fields(ack: dict[str, Any] | None) -> dict[str, Any]:
    if ack is None:
        return {"acknowledged_at": None, "acknowledged_by": None, "acknowledged_for_team": False}
    return {"acknowledged_at": ack["at"], "acknowledged_by": ack["username"], "acknowledged_for_team": ack["team"]}


def _assign_fields(assigned: dict[str, Any] | None) -> dict[str, Any]:
    if assigned is None:
        return {"assignee": None, "assigned_by": None, "assigned_at": None}
    return {"assignee": assigned["assignee"], "assigned_by": assigned["by"], "assigned_at": assigned["at"]}


@router.get("/alerts", include_in_schema=False)
def alerts_page(
    request: Request,
    watch: str = "",
    state: str = "",
    unacknowledged: bool = False,
    mine: bool = False,
    sort: str = "",
    after: str = "",
    limit: int = Query(PAGE, ge=1, le=PAGE),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Response:
    sort = sort if sort in backend.ALERT_SORTS else "created"
    try:
        page = inbox(
            ctx,
            user,
            watch=watch,
            state=state,
            unacknowledged=unacknowledged,
            limit=limit,
            after=after,
            sort=sort,
            mine=mine,
        )
    except backend.InvalidCursor as exc:
        return ctx.page(request, "error.html", status_code=400, title="bad page link", message=str(exc), back="/alerts")
    watches = backend.list_watches(ctx.es, ctx.names)
    kept = {"watch": watch, "state": state, "unacknowledged": "true" if unacknowledged else "",
            "mine": "true" if mine else "",
            "sort": "" if sort == "created" else sort, "limit": "" if limit == PAGE else str(limit)}  # fmt: skip
    older = _url(kept, after=page.next) if page.next else None
    newest = _url(kept, after=None) if after else None
    return ctx.page(
        request, "alerts.html", rows=page.alerts, watch=watch, state=state, unacknowledged=unacknowledged, sort=sort,
        watch_names=[w.name for w in watches], states=backend.ALERT_STATES, older=older, newest=newest, mine=mine,
        usernames=[u["username"] for u in ctx.store.list_users()] if user.may("analyst") else [],
    )  # fmt: skip


def _url(kept: dict[str, str], *, after: str | None) -> str:
    """The inbox URL with the same filters (and ``after``): paging never drops the state of the page."""
    pairs = [(k, v) for k, v in kept.items() if v] + ([("after", after)] if after else [])
    return "/alerts" + ("?" + urlencode(pairs) if pairs else "")


@router.post("/alerts/acknowledge", include_in_schema=False)
def acknowledge_form(
    alert_id: str = Form(...),
    back: str = Form("/alerts"),
    team: bool = Form(False),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> Response:
    acknowledge(ctx, user, alert_id, team=team)
    target = back if back.startswith("/alerts") else "/alerts"
    return RedirectResponse(target, status_code=303)


@router.get("/api/v1/alerts", summary="Alerts, newest first", tags=["alerts"], responses=ok(list[Alert]))
def alerts_api(
    request: Request,
    watch: str = Query("", description="Watch name or id"),
    state: State | None = Query(None, description="Only alerts with a channel in this delivery state"),
    unacknowledged: bool = Query(False, description="Only alerts neither you nor the team acknowledged"),
    mine: bool = Query(False, description="Only alerts assigned to you"),
    sort: Sort = Query("created", description="`created`: newest alert first; `published`: newest article first"),
    after: str = Query("", description="The `X-Next-Cursor` of the previous page (of the same sort)"),
    limit: int = Query(50, ge=1, le=1000),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Any:
    """The alert documents of `wirewatch alerts list --json` (passage, `published_at` of the article,
    `deliveries` per channel with state, attempts and last error), each with `acknowledged_at`,
    `acknowledged_by` and `acknowledged_for_team` (the team's acknowledgement, else the caller's). Filters
    apply before the limit. When more alerts follow, the `X-Next-Cursor` header holds the cursor to pass as `after` (and
    `Link` the next page's URL, rel="next"). A cursor this listing did not produce answers 400."""
    try:
        page = inbox(ctx, user, watch=watch, state=state or "", unacknowledged=unacknowledged, limit=limit,
                     after=after, sort=sort, mine=mine)  # fmt: skip
    except backend.InvalidCursor as exc:
        return JSONResponse({"error": "bad cursor", "field": "after", "message": str(exc)}, status_code=400)
    headers = {}
    if page.next:
        following = request.url.include_query_params(after=page.next)
        headers = {"X-Next-Cursor": page.next, "Link": f'<{following.path}?{following.query}>; rel="next"'}
    return JSONResponse(jsonable_encoder(page.alerts), headers=headers)


@router.post(
    "/api/v1/alerts/{alert_id}/acknowledge",
    summary="Acknowledge an alert",
    tags=["alerts"],
    responses=ok(Acknowledgement),
)
def acknowledge_api(
    alert_id: str,
    team: bool = Query(False, description="For the whole team: every user then sees it acknowledged, and by whom"),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> dict[str, Any]:
    """Marks the alert as dealt with by the calling user (`team=true`: for everybody):
    `{"alert_id", "username", "at", "team"}` (for the team, the acknowledgement that already stood when another
    user was first); 404 when no alert has that id."""
    return acknowledge(ctx, user, alert_id, team=team)


def acknowledge(ctx: WebContext, user: User, alert_id: str, *, team: bool = False) -> dict[str, Any]:
    """The form's and the API's one way to acknowledge: only an alert that exists (ids are looked up, and
    none longer than ``MAX_ALERT_ID`` is), so the store holds no acknowledgement of nothing."""
    if not backend.alert_exists(ctx.es, ctx.names, alert_id):
        raise HTTPException(404, f"no alert with id {alert_id[:40]!r}: the inbox lists the alerts")
    return ctx.store.acknowledge(user.username, alert_id, team=team)


@router.post("/alerts/assign", include_in_schema=False)
def assign_form(
    alert_id: str = Form(...),
    assignee: str = Form(""),
    back: str = Form("/alerts"),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> Response:
    assign(ctx, user, alert_id, assignee or None)
    target = back if back.startswith("/alerts") else "/alerts"
    return RedirectResponse(target, status_code=303)


@router.post("/api/v1/alerts/{alert_id}/assign", summary="Assign an alert", tags=["alerts"], responses=ok(Assignment))
def assign_api(
    alert_id: str,
    assignee: str = Query("", description="The workbench user to deal with it; empty: unassign"),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> dict[str, Any]:
    """Sets who deals with the alert, seen by every user: `{"alert_id", "assignee", "by", "at"}` (`assignee`
    null once unassigned); 404 when no alert has that id, 400 for an assignee who is no workbench user."""
    return assign(ctx, user, alert_id, assignee or None)


def assign(ctx: WebContext, user: User, alert_id: str, assignee: str | None) -> dict[str, Any]:
    """The form's and the API's one way to assign: only an alert that exists, only to a workbench user."""
    from wirewatch.web.store import WebStateError

    if not backend.alert_exists(ctx.es, ctx.names, alert_id):
        raise HTTPException(404, f"no alert with id {alert_id[:40]!r}: the inbox lists the alerts")
    try:
        return ctx.store.assign(alert_id, assignee, by=user.username)
    except WebStateError as exc:
        raise HTTPException(400, str(exc)) from exc
