"""Distance and bounding-box filters over the articles' places (nested ``places.location`` geo_points).

``near`` is the query language's ``near:`` without its prefix (``Gao 100km``, ``"Bordj Badji Mokhtar" 50km``);
``bbox`` is ``west,south,east,north`` in degrees (GeoJSON's order). Both are plain nested geo queries, so an
article matches when any place it names is inside.
"""

from __future__ import annotations

from typing import Any

from search.errors import QuerySyntaxError
from search.querying.querylang import NEAR, NEAR_HINT, PlaceLocator, parse_query, tokenize

BBOX_HINT = "write west,south,east,north in degrees, e.g. -5,10,5,20"


def near_filter(text: str, locate: PlaceLocator | None) -> dict[str, Any]:
    """The filter for ``PLACE DISTANCE``; QuerySyntaxError (position within ``text``) for a bad or unknown one."""
    tokens = tokenize(NEAR + text.strip())
    if [t.kind for t in tokens] != ["NEAR", "END"]:
        raise QuerySyntaxError(f"one place and one distance only: {NEAR_HINT}", 0)
    try:
        return parse_query(NEAR + text.strip(), locate)
    except QuerySyntaxError as exc:
        raise QuerySyntaxError(exc.reason, max(0, exc.position - len(NEAR))) from exc


def parse_bbox(text: str) -> dict[str, float]:
    """``west,south,east,north`` -> those four numbers; ValueError that says the form. A box whose west is
    east of its east crosses the antimeridian (Elasticsearch reads it so)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a bounding box: {BBOX_HINT}") from exc
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise ValueError(f"{text!r} is out of range (longitudes -180..180, latitudes -90..90, south <= north): "
                         f"{BBOX_HINT}")  # fmt: skip
    return {"west": west, "south": south, "east": east, "north": north}


def bbox_filter(text: str) -> dict[str, Any]:
    box = parse_bbox(text)
    corners = {"top_left": {"lat": box["north"], "lon": box["west"]},
               "bottom_right": {"lat": box["south"], "lon": box["east"]}}  # fmt: skip
    return {"nested": {"path": "places", "query": {"geo_bounding_box": {"places.location": corners}}}}
