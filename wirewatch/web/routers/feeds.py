"""Feed health (for operators): failing feeds first, then never polled, then healthy ones."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from wirewatch.rows import feed_rows
from wirewatch.runtime import ConfigError
from wirewatch.web import backend
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User, WebStateError

router = APIRouter()
RATE_DAYS = 7
_ORDER = {"failing": 0, "never polled": 1, "ok": 2}


def health_rows(ctx: WebContext) -> list[dict[str, Any]]:
    """`wirewatch feeds --json` rows plus `articles_per_day` (last 7 days), failing first."""
    try:
        feeds = ctx.runtime.feeds()
    except ConfigError as exc:
        raise WebStateError(f"the feed list cannot be read: {exc}") from exc
    states = backend.feed_states(ctx.es, ctx.names, [f.id for f in feeds])
    counts = backend.source_counts(ctx.es, ctx.names, days=RATE_DAYS)
    rows = feed_rows(feeds, states)
    for row in rows:
        row["articles_per_day"] = round(counts.get(row["id"], 0) / RATE_DAYS, 2)
    rows.sort(key=lambda r: (_ORDER[r["health"]], -r["consecutive_failures"], r["id"]))
    return rows


@router.get("/feeds", include_in_schema=False)
def feeds_page(request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    return ctx.page(request, "feeds.html", rows=health_rows(ctx))


@router.get("/api/v1/feeds", summary="Feed health", tags=["feeds"])
def feeds_api(user: User = VIEWER, ctx: WebContext = CTX) -> list[dict[str, Any]]:
    """The rows of `wirewatch feeds --json`, failing first, each with `articles_per_day` over the last 7 days."""
    return health_rows(ctx)
