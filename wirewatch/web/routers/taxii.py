"""A TAXII 2.1 server under ``/taxii2/``, so a threat-intelligence platform (OpenCTI's TAXII connector, MISP)
pulls Wirewatch's reports on its own schedule, behind the workbench's tokens and roles (viewer reads).

Discovery (``/taxii2/``), one API root (``/taxii2/api/``), its collections: ``alerts`` (every alert) and one per
watch (``watch: <name>``), each readable as objects with ``added_after``, ``limit`` and ``next`` paging. An
object's date added is its alert's creation time, so a consumer that passes the last
``X-TAXII-Date-Added-Last`` as ``added_after`` gets only what was raised since. A page holds whole reports
(a report with the objects it names) up to ``limit`` objects (at least one report); ``next`` is an opaque
cursor that resumes right after the last alert of the page. One page of alerts is in memory at a time.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from wirewatch.stix.bundle import BundleStats, first_time
from wirewatch.stix.export import TlpPolicy, alerts_to_batches
from wirewatch.stix.ids import NAMESPACE
from wirewatch.web import backend
from wirewatch.web.backend import AlertFilter
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User

router = APIRouter()
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
ALERTS_COLLECTION = str(uuid.uuid5(NAMESPACE, "taxii-collection\x1falerts"))


class TaxiiError(Exception):
    """A request the server refuses; answered as a TAXII error message."""

    def __init__(self, status: int, title: str, description: str) -> None:
        super().__init__(description)
        self.status, self.title, self.description = status, title, description


def taxii(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers)


def error_response(exc: TaxiiError) -> JSONResponse:
    return taxii({"title": exc.title, "description": exc.description, "http_status": str(exc.status)}, exc.status)


def _check_accept(request: Request) -> None:
    accept = request.headers.get("accept", "").replace(" ", "").lower()
    if accept and not any(m in accept for m in ("application/taxii+json", "*/*", "application/*")):
        raise TaxiiError(406, "not acceptable", f"this server answers {TAXII_MEDIA_TYPE}")


def _root_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/taxii2/api/"


@router.get("/taxii2/", include_in_schema=False)
def discovery(request: Request, user: User = VIEWER) -> Response:
    _check_accept(request)
    root = _root_url(request)
    return taxii({"title": "Wirewatch", "description": "Reports of alerts on tracked groups (STIX 2.1)",
                  "default": root, "api_roots": [root]})  # fmt: skip


@router.get("/taxii2/api/", include_in_schema=False)
def api_root(request: Request, user: User = VIEWER) -> Response:
    _check_accept(request)
    return taxii({"title": "Wirewatch alerts", "versions": [TAXII_MEDIA_TYPE], "max_content_length": 0})


def collections_of(ctx: WebContext) -> dict[str, dict[str, Any]]:
    """{collection id: its TAXII description, with the watch it reads (None: every alert)}."""
    out = {ALERTS_COLLECTION: _collection(ALERTS_COLLECTION, "alerts", "Every alert, as a report", None)}
    for watch in backend.list_watches(ctx.es, ctx.names):
        cid = str(uuid.uuid5(NAMESPACE, f"taxii-collection\x1fwatch\x1f{watch.id}"))
        out[cid] = _collection(cid, f"watch: {watch.name}", f"The alerts of the {watch.kind} watch", watch.id)
    return out


def _collection(cid: str, title: str, description: str, watch: str | None) -> dict[str, Any]:
    return {"id": cid, "title": title, "description": description, "can_read": True, "can_write": False,
            "media_types": [STIX_MEDIA_TYPE], "_watch": watch}  # fmt: skip


def _public(collection: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in collection.items() if not k.startswith("_")}


@router.get("/taxii2/api/collections/", include_in_schema=False)
def collections(request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    _check_accept(request)
    return taxii({"collections": [_public(c) for c in collections_of(ctx).values()]})


def _find(ctx: WebContext, cid: str) -> dict[str, Any]:
    found = collections_of(ctx).get(cid)
    if found is None:
        raise TaxiiError(404, "collection not found", "no collection has this id: list /taxii2/api/collections/")
    return found


@router.get("/taxii2/api/collections/{cid}/", include_in_schema=False)
def collection(cid: str, request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    _check_accept(request)
    return taxii(_public(_find(ctx, cid)))


@router.get("/taxii2/api/collections/{cid}/objects/", include_in_schema=False)
def objects(
    cid: str,
    request: Request,
    added_after: str = Query(""),
    limit: int = Query(DEFAULT_LIMIT),
    next: str = Query(""),
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Response:
    _check_accept(request)
    found = _find(ctx, cid)
    if limit < 1:
        raise TaxiiError(400, "bad limit", "limit must be a positive number of objects")
    which = AlertFilter(added_after=_time(added_after), watch=found["_watch"])
    page = backend.export_alert_page(ctx.es, ctx.names, which, after=_decode(next), size=min(limit, MAX_LIMIT))
    policy = TlpPolicy(ctx.settings.stix_tlp, ctx.settings.stix_tlp_by_watch)
    stats, out, count, kept = BundleStats(), list[str](), 0, 0
    batches = alerts_to_batches(ctx.es, ctx.names, page.alerts, ctx.runtime.watchlist(), policy)
    for batch in batches:
        fresh = [obj.serialize() for obj in first_time(batch, stats)]
        if kept and count + len(fresh) > limit:
            break  # whole reports only, at least one
        out += fresh
        count += len(fresh)
        kept += 1
    more = kept < len(page.alerts) or page.cursor is not None
    head: dict[str, Any] = {"more": more}
    if more and kept:
        head["next"] = _encode(page.cursors[kept - 1])
    headers = {}
    if kept:
        headers["X-TAXII-Date-Added-First"] = _rfc3339(page.alerts[0]["created_at"])
        headers["X-TAXII-Date-Added-Last"] = _rfc3339(page.alerts[kept - 1]["created_at"])
    # the objects are stix2's own serialisations, joined as they are: parsing them back only to dump them again
    # took most of a page's time
    text = json.dumps(head)
    body = text[:-1] + (', "objects": [' + ",".join(out) + "]}" if out else "}")
    return Response(body, media_type=TAXII_MEDIA_TYPE, headers=headers)


def _time(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TaxiiError(400, "bad added_after", "added_after must be an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise TaxiiError(400, "bad added_after", "added_after must carry a time zone (Z)")
    return parsed


def _rfc3339(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _encode(cursor: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


def _decode(token: str) -> list[Any] | None:
    if not token:
        return None
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        cursor = None
    if not (isinstance(cursor, list) and len(cursor) == 2 and isinstance(cursor[0], int)
            and isinstance(cursor[1], str)):  # fmt: skip
        raise TaxiiError(400, "bad next", "next must be the value a previous page gave")
    return cursor
