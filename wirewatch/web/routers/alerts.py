"""The alerts inbox: newest first, filters by watch and delivery state, per-channel delivery, acknowledgements.

Acknowledging is per user: an alert one analyst has dealt with stays new for the others.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from wirewatch.web import backend
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.security import ANALYST, VIEWER
from wirewatch.web.store import User

router = APIRouter()
State = Literal["pending", "failed", "delivered"]
PAGE = 100


def inbox(
    ctx: WebContext, user: User, *, watch: str, state: str, unacknowledged: bool, limit: int
) -> list[dict[str, Any]]:
    """Alert documents (as `wirewatch alerts list --json`) with this user's `acknowledged_at` (or None)."""
    chosen = state if state in ("pending", "failed", "delivered") else None
    alerts = backend.list_alerts(ctx.es, ctx.names, watch=watch or None, state=chosen, limit=limit)  # type: ignore[arg-type]
    acks = ctx.store.acknowledged(user.username, [a["id"] for a in alerts])
    rows = [{**a, "acknowledged_at": acks.get(a["id"])} for a in alerts]
    return [r for r in rows if not (unacknowledged and r["acknowledged_at"])]


@router.get("/alerts", include_in_schema=False)
def alerts_page(
    request: Request,
    watch: str = "",
    state: str = "",
    unacknowledged: bool = False,
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Response:
    rows = inbox(ctx, user, watch=watch, state=state, unacknowledged=unacknowledged, limit=PAGE)
    watches = backend.list_watches(ctx.es, ctx.names)
    return ctx.page(
        request, "alerts.html", rows=rows, watch=watch, state=state, unacknowledged=unacknowledged,
        watch_names=[w.name for w in watches],
    )  # fmt: skip


@router.post("/alerts/acknowledge", include_in_schema=False)
def acknowledge_form(
    alert_id: str = Form(...),
    back: str = Form("/alerts"),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> Response:
    acknowledge(ctx, user, alert_id)
    target = back if back.startswith("/alerts") else "/alerts"
    return RedirectResponse(target, status_code=303)


@router.get("/api/v1/alerts", summary="Alerts, newest first", tags=["alerts"])
def alerts_api(
    watch: str = Query("", description="Watch name or id"),
    state: State | None = Query(None, description="Only alerts with a channel in this delivery state"),
    unacknowledged: bool = Query(False, description="Only alerts you have not acknowledged"),
    limit: int = Query(50, ge=1, le=1000),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> list[dict[str, Any]]:
    """The alert documents of `wirewatch alerts list --json` (passage, `deliveries` per channel with state,
    attempts and last error), each with `acknowledged_at` for the calling user."""
    return inbox(ctx, user, watch=watch, state=state or "", unacknowledged=unacknowledged, limit=limit)


@router.post("/api/v1/alerts/{alert_id}/acknowledge", summary="Acknowledge an alert", tags=["alerts"])
def acknowledge_api(alert_id: str, user: User = ANALYST, ctx: WebContext = CTX) -> dict[str, Any]:
    """Marks the alert as dealt with by the calling user: `{"alert_id", "username", "at"}`; 404 when no alert
    has that id."""
    return acknowledge(ctx, user, alert_id)


def acknowledge(ctx: WebContext, user: User, alert_id: str) -> dict[str, Any]:
    """The form's and the API's one way to acknowledge: only an alert that exists (ids are looked up, and
    none longer than ``MAX_ALERT_ID`` is), so the store holds no acknowledgement of nothing."""
    if not backend.alert_exists(ctx.es, ctx.names, alert_id):
        raise HTTPException(404, f"no alert with id {alert_id[:40]!r}: the inbox lists the alerts")
    return ctx.store.acknowledge(user.username, alert_id)
