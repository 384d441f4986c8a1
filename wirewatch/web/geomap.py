"""The map of the region, drawn on the server as SVG: country outlines and a point per place, sized by articles.

Outlines come from ``data/countries.topo.json.gz`` (Natural Earth via the npm package ``world-atlas``, subset
by :mod:`wirewatch.web.mapbuild`), a TopoJSON file decoded here: each arc is a list of quantized points, each
after the first a delta from the one before; a ring lists arc indices, ``~i`` meaning arc ``i`` reversed.
Equirectangular projection with the longitudes shrunk by the cosine of the middle latitude, so the Sahel keeps
its shape. No script, no tiles, presentation attributes only: the content security policy needs nothing.
"""

from __future__ import annotations

import gzip
import html
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

from wirewatch.places import find_place

DATA_PATH = Path(__file__).resolve().parent / "data" / "countries.topo.json.gz"
REGION = (-18.0, 0.0, 40.0, 38.0)  # west, south, east, north: the Sahel, Libya and their neighbours
MIN_SPAN = 7.0  # degrees of latitude: a map zoomed closer shows too little around its points to say where they are
PAD = 2.0  # degrees around the points' extent
WIDTH = 800  # viewBox units; the page scales the SVG to its column (CSS width 100%)
LABELS = 8  # places named on the map: the most named ones; the others have their name in the point's title
LABEL_SIZE = 16  # viewBox units: 16 px at 1280 px, about 8 px on a 390 px phone
MIN_STEP = 0.6  # viewBox units: a point closer than this to the last one drawn adds nothing visible

Box = tuple[float, float, float, float]  # west, south, east, north


@dataclass(frozen=True, slots=True)
class Country:
    id: str
    name: str
    rings: tuple[tuple[tuple[float, float], ...], ...]  # (lon, lat) rings, outer and holes alike
    bounds: Box


@dataclass(frozen=True, slots=True)
class MapPoint:
    """A place on the map: ``href`` is where its point links to (the search filtered by it)."""

    id: str
    name: str
    lat: float
    lon: float
    count: int
    href: str


def place_points(counts: Sequence[tuple[str, int]], href: Callable[[str], str]) -> list[MapPoint]:
    """Points for (place id, articles) pairs, named and placed from the place table; an id the table no longer
    has (an article tagged with an older table) is left off the map."""
    points = []
    for place_id, count in counts:
        place = find_place(place_id)
        if place is not None:
            points.append(MapPoint(id=place.id, name=place.name, lat=place.lat, lon=place.lon, count=count,
                                   href=href(place.id)))  # fmt: skip
    return points


def decode_arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Every arc as (lon, lat) points: the quantized deltas summed, then scaled and translated."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy, *_ in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(refs: Sequence[int], arcs: Sequence[Sequence[tuple[float, float]]]) -> tuple[tuple[float, float], ...]:
    """One closed ring from its arc references; consecutive arcs share their end point, drawn once."""
    points: list[tuple[float, float]] = []
    for ref in refs:
        arc = arcs[ref] if ref >= 0 else list(reversed(arcs[~ref]))
        points.extend(arc[1:] if points else arc)
    return tuple(points)


def _rings(geometry: dict[str, Any], arcs: list[list[tuple[float, float]]]) -> list[tuple[tuple[float, float], ...]]:
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    return [ring(refs, arcs) for polygon in polygons for refs in polygon]


@lru_cache(maxsize=1)
def load_countries(path: Path = DATA_PATH) -> tuple[Country, ...]:
    """The outlines, decoded once per process."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        topo = json.load(fh)
    arcs = decode_arcs(topo)
    countries = []
    for geometry in topo["objects"]["countries"]["geometries"]:
        rings = tuple(_rings(geometry, arcs))
        lons = [lon for r in rings for lon, _ in r]
        lats = [lat for r in rings for _, lat in r]
        countries.append(Country(
            id=str(geometry.get("id") or ""), name=geometry["properties"]["name"], rings=rings,
            bounds=(min(lons), min(lats), max(lons), max(lats)),
        ))  # fmt: skip
    return tuple(countries)


def view_box(points: Sequence[tuple[float, float]], *, region: Box = REGION) -> Box:
    """The region, or the (lat, lon) points' extent (padded, at least MIN_SPAN wide and high) when that lies
    inside the region and is narrower: a search about Gao and Menaka shows Mali, not all of North Africa."""
    west, south, east, north = region
    inside = [(lat, lon) for lat, lon in points if south <= lat <= north and west <= lon <= east]
    if not inside:
        return region
    lats, lons = [p[0] for p in inside], [p[1] for p in inside]
    return _clamp(min(lons) - PAD, min(lats) - PAD, max(lons) + PAD, max(lats) + PAD, region)


def centred_box(lat: float, lon: float, *, region: Box = REGION) -> Box:
    """A box MIN_SPAN degrees high around one place (the place page), of the region's shape."""
    half = MIN_SPAN / 2
    return _clamp(lon - half, lat - half, lon + half, lat + half, region, keep_inside=False)


def _clamp(west: float, south: float, east: float, north: float, region: Box, *, keep_inside: bool = True) -> Box:
    """At least MIN_SPAN high, widened or heightened to the region's shape (a zoomed map keeps the page's
    layout: no tall square where the region's wide map was), then moved inside the region."""
    north, south = max(north, (north + south + MIN_SPAN) / 2), min(south, (north + south - MIN_SPAN) / 2)
    ratio = (region[2] - region[0]) / (region[3] - region[1])  # degrees of longitude per degree of latitude
    if (east - west) < (north - south) * ratio:
        middle, half = (east + west) / 2, (north - south) * ratio / 2
        west, east = middle - half, middle + half
    else:
        middle, half = (north + south) / 2, (east - west) / ratio / 2
        south, north = middle - half, middle + half
    if keep_inside:
        west, east = _shift_into(west, east, region[0], region[2])
        south, north = _shift_into(south, north, region[1], region[3])
    return west, south, east, north


def _shift_into(low: float, high: float, lo: float, hi: float) -> tuple[float, float]:
    if high - low >= hi - lo:
        return lo, hi
    if low < lo:
        return lo, lo + (high - low)
    if high > hi:
        return hi - (high - low), hi
    return low, high


def projection(box: Box, width: int = WIDTH) -> tuple[Callable[[float, float], tuple[float, float]], int]:
    """(lon, lat) -> (x, y) in the viewBox, and the viewBox's height."""
    west, south, east, north = box
    shrink = math.cos(math.radians((south + north) / 2))
    scale = width / ((east - west) * shrink)
    height = round((north - south) * scale)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * shrink * scale, (north - lat) * scale

    return project, height


def _path(rings: Sequence[Sequence[tuple[float, float]]], project: Callable[[float, float], Any]) -> str:
    parts = []
    for r in rings:
        drawn: list[tuple[float, float]] = []
        for lon, lat in r:
            x, y = project(lon, lat)
            if not drawn or abs(x - drawn[-1][0]) + abs(y - drawn[-1][1]) >= MIN_STEP:
                drawn.append((x, y))
        if len(drawn) >= 3:
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in drawn) + "Z")
    return "".join(parts)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]


@lru_cache(maxsize=64)
def country_layer(box: Box) -> str:
    """The outlines of the countries in ``box``, projected: the same for every search with the same box (the
    region's above all), so kept; about 80 ms of Python for the region's, which a page should not pay."""
    project, _ = projection(box)
    return "".join(
        f'<path class="country" d="{_path(country.rings, project)}" fill="#f4f1ea" stroke="#9a9488" '
        f'stroke-width="0.6" fill-rule="evenodd"><title>{html.escape(country.name)}</title></path>'
        for country in load_countries()
        if _overlaps(country.bounds, box)
    )


def map_svg(points: Sequence[MapPoint], *, box: Box | None = None, label: str = "Places named") -> Markup:
    """Countries and one linked, titled circle per point (area proportional to its articles)."""
    box = box or view_box([(p.lat, p.lon) for p in points])
    project, height = projection(box)
    parts = [
        # a group, not an img: an img's children are presentational, and these hold links to the places
        f'<svg class="map" viewBox="0 0 {WIDTH} {height}" role="group" aria-label="{html.escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<rect width="{WIDTH}" height="{height}" fill="#dfe9f3"/>',
    ]
    parts.append(country_layer(box))
    peak = max((p.count for p in points), default=1) or 1
    for p in sorted(points, key=lambda p: -p.count):  # the largest first, so small points stay clickable on top
        x, y = project(p.lon, p.lat)
        if not (0 <= x <= WIDTH and 0 <= y <= height):
            continue
        radius = 4 + 14 * math.sqrt(p.count / peak)
        title = f"{p.name}: {p.count} article{'s' if p.count != 1 else ''}"
        parts.append(
            f'<a class="place-point" href="{html.escape(p.href)}" data-place="{html.escape(p.id)}">'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="#c0392b" fill-opacity="0.65" '
            f'stroke="#7b241c" stroke-width="1"/><title>{html.escape(title)}</title></a>'
        )
    parts += _labels(points, project, height)
    parts.append("</svg>")
    return Markup("".join(parts))


def _labels(
    points: Sequence[MapPoint], project: Callable[[float, float], tuple[float, float]], height: int
) -> list[str]:
    """The names of the LABELS most named places, beside their points, over a white halo; drawn after every
    point so no point hides a name (the names do not take clicks: the points under them still do)."""
    out = []
    for p in sorted(points, key=lambda p: -p.count)[:LABELS]:
        x, y = project(p.lon, p.lat)
        if 0 <= x <= WIDTH and 0 <= y <= height:
            anchor = "end" if x > WIDTH * 0.8 else "start"
            dx = -10 if anchor == "end" else 10
            out.append(
                f'<text x="{x + dx:.1f}" y="{y + 5:.1f}" text-anchor="{anchor}" font-size="{LABEL_SIZE}" '
                'fill="#222" stroke="#fff" stroke-width="3" paint-order="stroke" pointer-events="none">'
                f"{html.escape(p.name)}</text>"
            )
    return out
