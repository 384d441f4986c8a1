"""Place pages (``/places/{id}``): a place's names in English, French and Arabic, its country and region, the
articles naming it over time, the groups active there, the latest stories, and the map centred on it."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from wirewatch.places import country_place, describe_place, find_place
from wirewatch.web import backend
from wirewatch.web.backend import SearchRequest
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.geomap import MapPoint, centred_box, map_svg, place_points
from wirewatch.web.render import attention_svg
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User

router = APIRouter()
LATEST = 10  # stories listed; the search linked from the page has the rest


@router.get("/places/{place_id}", include_in_schema=False)
def place_page(place_id: str, request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    place = find_place(place_id) if place_id.startswith(("gn:", "rg:")) else None
    if place is None:
        raise HTTPException(404, f"no place with id {place_id!r}: place ids look like gn:2457163 (the search's places)")
    req = SearchRequest(places=[place.id], sort="newest", limit=LATEST, describe_place=describe_place)
    result = backend.search_articles(ctx.es, ctx.names, req)
    chart = backend.attention(ctx.es, ctx.names, req)
    nearby = backend.map_places(ctx.es, ctx.names, req)
    points = place_points(nearby, lambda place_id: "/search?" + urlencode({"place": place_id}))
    if not any(p.id == place.id for p in points):  # no article names it yet: the map still shows where it is
        points.append(MapPoint(id=place.id, name=place.name, lat=place.lat, lon=place.lon, count=0,
                               href="/search?" + urlencode({"place": place.id})))  # fmt: skip
    return ctx.page(
        request, "place.html", place=place, country=country_place(place.country), result=result.as_dict(),
        chart=attention_svg(chart.buckets, interval=chart.interval), chart_interval=chart.interval,
        map=map_svg(points, box=centred_box(place.lat, place.lon), label=f"{place.name} and the places named with it"),
    )  # fmt: skip
