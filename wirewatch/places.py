"""Place names typed by an analyst (``near:Gao 100km``, ``--near``) -> coordinates, from enrich's place table.

The search stage takes this as its ``locate`` function: it never reads the table itself (stages do not import
each other).
"""

from __future__ import annotations

from enrich.normalize import normalize_form
from enrich.places.table import Place, load_places

_KIND_RANK = {"country": 3, "capital": 2, "city": 1}


def find_place(name: str) -> Place | None:
    """The place ``name`` means: a place id (``gn:2457163``), or a name in any of the table's languages and
    variants (Gao, Ménaka, ميناكا). A name several places share goes to the one an analyst of the region means
    first: one of the region's countries, then countries, capitals and cities before towns, then the largest."""
    table = load_places()
    key = name.strip()
    if not key:
        return None
    by_id = table.get(key)
    if by_id is not None:
        return by_id
    ids = table.names.get(normalize_form(key), ())
    places = [p for p in (table.get(pid) for pid in ids) if p is not None]
    if not places:
        return None
    return max(places, key=lambda p: (p.focus, _KIND_RANK.get(p.kind, 0), p.population, p.id))


def locate_place(name: str) -> tuple[float, float] | None:
    """(lat, lon) of :func:`find_place`, or None for a name the table does not have."""
    place = find_place(name)
    return (place.lat, place.lon) if place else None


def country_place(code: str) -> Place | None:
    """The country row of an ISO code (``ML`` -> Mali), for the names of a place's country."""
    return load_places().countries.get(code.upper())


def describe_place(place_id: str) -> dict[str, str] | None:
    """The names and country of a place id, for the search's place facet (None for an id the table lacks)."""
    place = load_places().get(place_id)
    if place is None:
        return None
    return {"name": place.name, "name_fr": place.name_fr or place.name, "name_ar": place.name_ar or place.name,
            "country": place.country}  # fmt: skip
