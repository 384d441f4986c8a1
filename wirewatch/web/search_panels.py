"""What the search page shows beside its results: the hint that a query word is a tracked group, and the map of
the places the matching articles name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from wirewatch.web import backend
from wirewatch.web.context import WebContext
from wirewatch.web.geomap import map_svg, place_points

if TYPE_CHECKING:
    from wirewatch.web.routers.search import SearchState

__all__ = ["group_hints", "search_map"]


def group_hints(ctx: WebContext, state: SearchState) -> list[dict[str, Any]]:
    """A query word that is exactly a tracked group's name or alias, with no group filter: the group's tag finds
    the articles that name it in any language and form, so the page offers it with its count."""
    if state.group or not state.q.strip():
        return []
    words, fielded = backend.plain_terms(state.q)
    if fielded:
        return []
    groups = ctx.group_names()
    hints: dict[str, dict[str, Any]] = {}
    for word in words:
        group_id = groups.named_by(word)
        if group_id and group_id not in hints:
            hints[group_id] = {
                "word": word, "group": group_id, "count": backend.group_count(ctx.es, ctx.names, group_id),
                "href": "/search?" + state.query_string(q=f"group:{group_id}"),
            }  # fmt: skip
    return list(hints.values())


def search_map(state: SearchState, counts: list[tuple[str, int]]) -> Markup | str:
    """The map of the places the matching articles name, each point the same search filtered by its place."""
    points = place_points(counts, lambda place_id: "/search?" + state.query_string(place=("add", place_id), after=None))
    return map_svg(points, label="Places the matching articles name") if points else ""
