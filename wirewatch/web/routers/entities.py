"""Entity pages: a tracked group (``/entities/group/{id}``) or a person (``/entities/person/{canonical name}``):
the articles naming it over time, the entities named with it (their canonical forms, each linking to its own
page or search), the latest stories, its alerts and a map of where it is mentioned.

A page is keyed by the entity's kind and canonical key (a group's id; a person's canonical name as NER and the
watchlist's people section store it in ``entity_names.person``), so a better canonical form changes how a key
is resolved, not the page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from wirewatch.web import backend
from wirewatch.web.backend import SearchRequest
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.geomap import map_svg, place_points
from wirewatch.web.render import attention_svg
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User

router = APIRouter()
LATEST = 10  # stories and alerts listed; the linked search has the rest
MAX_KEY = 200  # characters of a key: a canonical name is short, a longer one names nothing


@dataclass(frozen=True)
class Entity:
    kind: str  # "group" or "person"
    key: str  # the group id, or the person's canonical name
    name: str  # what the page calls it

    @property
    def search(self) -> dict[str, str]:
        """The search filter of its articles (the parameters of /search)."""
        return {"group": self.key} if self.kind == "group" else {"entity": f"PERSON:{self.key}"}


def entity_href(kind: str, key: str) -> str:
    """The page of an entity (templates link every group and person to it)."""
    return f"/entities/{kind}/{quote(key, safe='')}"


@router.get("/entities/{kind}/{key:path}", include_in_schema=False)
def entity_page(kind: str, key: str, request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    entity = _entity(ctx, kind, key)
    req = _request(entity)
    # the chart's and the map's aggregations run beside the search: the page waits for the slowest, not the sum
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="entity-page") as pool:
        chart_future = pool.submit(backend.attention, ctx.es, ctx.names, req)
        places_future = pool.submit(backend.map_places, ctx.es, ctx.names, req)
        result = backend.search_articles(ctx.es, ctx.names, req).as_dict()
        chart, places = chart_future.result(), places_future.result()
    points = place_points(places, lambda place: "/search?" + urlencode({**entity.search, "place": place}))
    alerts = backend.alert_page(ctx.es, ctx.names, limit=LATEST, **_alert_filter(entity, result)).alerts
    return ctx.page(
        request, "entity.html", entity=entity, result=result, search=urlencode(entity.search), alerts=alerts,
        co_mentioned=co_mentioned(result["facets"], entity), chart_interval=chart.interval,
        chart=attention_svg(chart.buckets, interval=chart.interval),
        map=map_svg(points, label=f"Places named with {entity.name}") if points else None,
    )  # fmt: skip


def _entity(ctx: WebContext, kind: str, key: str) -> Entity:
    key = key.strip()
    if kind not in ("group", "person") or not key or len(key) > MAX_KEY:
        raise HTTPException(404, "entity pages are /entities/group/<group id> and /entities/person/<name>")
    if kind == "person":
        return Entity("person", key, key)
    group_id = ctx.group_names().resolve(key)
    names = {g.id: g.name for g in ctx.runtime.watchlist()}
    if group_id is None or group_id not in names:
        raise HTTPException(404, f"no tracked group {key[:40]!r}: the watchlist lists them (`wirewatch watchlist`)")
    return Entity("group", group_id, names[group_id])


def _request(entity: Entity) -> SearchRequest:
    if entity.kind == "group":
        return SearchRequest(groups=[entity.key], sort="newest", limit=LATEST)
    return SearchRequest(entities=[f"PERSON:{entity.key}"], sort="newest", limit=LATEST)


def _alert_filter(entity: Entity, result: dict[str, Any]) -> dict[str, Any]:
    """A group's alerts are its watch's; a person's, those of the latest articles naming them."""
    if entity.kind == "group":
        return {"watch": backend.group_watch_id(entity.key)}
    return {"article_ids": [hit["id"] for hit in result["hits"]]}


def co_mentioned(facets: dict[str, Any], entity: Entity) -> list[dict[str, Any]]:
    """The groups and entities named in its articles, most frequent first, itself left out: {kind, value,
    count, href} (a group or a person links to its page, any other entity to the search filtered by it)."""
    itself = entity.key if entity.kind == "group" else None
    rows = [{"kind": "group", "value": b["value"], "count": b["count"], "href": entity_href("group", b["value"])}
            for b in facets.get("groups") or () if b["value"] != itself]  # fmt: skip
    for etype, buckets in (facets.get("entities") or {}).items():
        for b in buckets:
            if etype == "PERSON" and entity.kind == "person" and b["value"] == entity.key:
                continue
            href = (entity_href("person", b["value"]) if etype == "PERSON"
                    else "/search?" + urlencode({"entity": f"{etype}:{b['value']}"}))  # fmt: skip
            rows.append({"kind": etype.lower(), "value": b["value"], "count": b["count"], "href": href})
    return sorted(rows, key=lambda r: (-r["count"], r["kind"], r["value"]))
