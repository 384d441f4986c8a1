"""STIX 2.1 bundles over HTTP: ``/api/v1/stix`` (alerts) and ``/api/v1/search/stix`` (the stories of a search).

Both stream the bundle as it is made (one page of alerts or hits in memory); the search export is capped by
``web_export_max`` like the CSV and JSON exports. The TAXII feed of the same reports is ``routers/taxii.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from wirewatch.stix.bundle import stream_bundle
from wirewatch.stix.export import TlpPolicy, alert_batches, article_batches
from wirewatch.web import backend
from wirewatch.web.backend import MAX_LIMIT, AlertFilter, SearchRequest
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.routers.search import _STATE, BadSearch, SearchState, to_request
from wirewatch.web.schemas import ok_file
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User

router = APIRouter()
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"


def _bad(field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": "bad request", "field": field, "message": message}, status_code=400)


def policy_for(ctx: WebContext, tlp: str) -> TlpPolicy:
    """The request's TLP level for every report, else the settings' (per watch, then the default)."""
    if tlp:
        return TlpPolicy(tlp)
    return TlpPolicy(ctx.settings.stix_tlp, ctx.settings.stix_tlp_by_watch)


def _bundle(pieces: Iterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        pieces, media_type=STIX_MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/api/v1/stix",
    summary="Alerts as a STIX 2.1 bundle",
    tags=["alerts"],
    responses=ok_file("application/stix+json;version=2.1", "A STIX 2.1 bundle"),
)
def alerts_bundle(
    since: str = Query("", description="Alerts created since: 7d, 24h, 30m, 2w or a date (2024-05-01)"),
    watch: str = Query("", description="Only this watch's alerts (name or id)"),
    group: str = Query("", description="Only alerts of this tracked group (its id)"),
    tlp: str = Query("", description="TLP level for every report (clear, green, amber, red); default per watch"),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Response:
    """The same bundle as `wirewatch stix export`: a report per alert (oldest first) naming its group's
    intrusion set, the article's places, people and organisations, with the article as external reference.
    Ids are stable, so importing a later export updates the objects of an earlier one."""
    try:
        since_at = backend.parse_when(since) if since.strip() else None
    except ValueError as exc:
        return _bad("since", str(exc))
    try:
        policy = policy_for(ctx, tlp)
    except ValueError as exc:
        return _bad("tlp", str(exc))
    which = AlertFilter(since=since_at, watch=watch.strip() or None, group=group.strip() or None)
    batches = alert_batches(ctx.es, ctx.names, which, ctx.runtime.watchlist(), policy)
    return _bundle(stream_bundle(batches), "wirewatch-alerts.stix.json")


@router.get(
    "/api/v1/search/stix",
    summary="The stories of a search as a STIX 2.1 bundle",
    tags=["search"],
    responses=ok_file("application/stix+json;version=2.1", "A STIX 2.1 bundle"),
)
def search_bundle(
    state: SearchState = _STATE,
    tlp: str = Query("", description="TLP level of the reports (clear, green, amber, red); default stix_tlp"),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Response:
    """One report per story of the search (the story's first matching article), up to `web_export_max`,
    streamed; the search parameters are those of `/api/v1/search`."""
    try:
        whole = SearchState(**{**state.__dict__, "collapse": True, "after": ""})
        req = to_request(whole, limit=MAX_LIMIT, groups=ctx.group_names())
    except BadSearch as exc:
        return _bad(exc.field, str(exc))
    try:
        marking = TlpPolicy(tlp or ctx.settings.stix_tlp).marking()
    except ValueError as exc:
        return _bad("tlp", str(exc))
    pages = _story_pages(ctx, req, ctx.settings.web_export_max)
    batches = article_batches(ctx.es, ctx.names, pages, ctx.runtime.watchlist(), marking)
    return _bundle(stream_bundle(batches), "wirewatch-search.stix.json")


def _story_pages(ctx: WebContext, req: SearchRequest, cap: int) -> Iterator[list[str]]:
    """The article ids of the search's stories, a page at a time, until ``cap`` or the last page."""
    sent, after = 0, None
    while sent < cap:
        fields: dict[str, Any] = {k: getattr(req, k) for k in req.__dataclass_fields__}
        page = backend.search_articles(
            ctx.es, ctx.names, SearchRequest(**{**fields, "after": after, "limit": min(MAX_LIMIT, cap - sent)})
        )
        ids = [hit.id for hit in page.hits]
        if ids:
            yield ids
        sent += len(ids)
        if not page.next or not ids:
            return
        after = page.next
