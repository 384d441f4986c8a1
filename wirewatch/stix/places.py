"""Places as STIX ``location`` objects: one function, ``location_from_place``, makes a location from a place record.

A place comes from the article's resolved places (``places``: a row of the place table with its id,
coordinates and country, written by ``enrich.tags.place_record``), so a town becomes a location with its
coordinates and one id whatever language named it. An article indexed before places were resolved has only the
names NER tagged GPE or LOC (``entity_names.gpe`` and ``.loc``): STIX 2.1 requires a location to have a
``region``, a ``country`` or coordinates, so such a name becomes a location when it is a country's (in English,
French or Arabic: "Libya", "Libye", "ليبيا" give ``LY``, from CLDR's territory names shipped with Babel); a town
without coordinates is left out and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from babel import Locale
from stix2 import Location

from wirewatch.stix.ids import fold, stix_id

__all__ = ["Place", "country_code", "location_from_place", "places_from_article"]

_LOCALES = ("en", "fr", "ar")
_PLACE_TYPES = ("gpe", "loc")


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """A place named by an article; ``country`` is an ISO 3166-1 alpha-2 code."""

    name: str
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    place_id: str | None = None  # the place table's id (``gn:2457163``) of a resolved place
    kind: str | None = None  # the place table's kind: country, capital, city, town

    @property
    def locatable(self) -> bool:
        """Whether STIX can hold it: a location needs a country or both coordinates (or a region, unused here)."""
        return bool(self.country) or (self.latitude is not None and self.longitude is not None)

    @property
    def stix_id(self) -> str:
        """Stable per place, so every article naming it points at one location: a country by its code (Libya,
        Libye and ليبيا are one), any other resolved place by its table id, an unresolved one by its folded name."""
        if self.country and (self.kind == "country" or country_code(self.name) == self.country):
            return stix_id("location", "country", self.country)
        if self.place_id:
            return stix_id("location", "place", self.place_id)
        return stix_id("location", fold(self.name))


@cache
def _countries() -> dict[str, str]:
    names: dict[str, str] = {}
    for locale in _LOCALES:
        for code, name in Locale(locale).territories.items():
            if len(code) == 2 and code.isalpha():  # skip continents and regions (numeric UN M49 codes)
                names.setdefault(fold(name), code)
    return names


def country_code(name: str) -> str | None:
    """The ISO code of a country named ``name`` in English, French or Arabic, else None."""
    return _countries().get(fold(name))


def places_from_article(article: Mapping[str, Any]) -> list[Place]:
    """The article's resolved places when it has been through place resolution (which already turned every
    NER span that names a place into one); else its GPE and LOC names (first mention order, no repeats),
    countries recognised."""
    seen: dict[str, Place] = {}
    if "places" in article:
        for record in article.get("places") or ():
            place = _resolved(record)
            if place is not None:
                seen.setdefault(place.stix_id, place)
        return list(seen.values())
    names = article.get("entity_names") or {}
    for kind in _PLACE_TYPES:
        for name in _strings(names.get(kind)):
            place = Place(name=name, country=country_code(name))
            seen.setdefault(place.stix_id, place)
    return list(seen.values())


def _resolved(record: Any) -> Place | None:
    """A stored place record as a Place; None for a record without a name (hostile or truncated input)."""
    if not isinstance(record, Mapping) or not isinstance(record.get("name"), str) or not record["name"].strip():
        return None
    lat, lon = _degrees(record.get("lat"), 90), _degrees(record.get("lon"), 180)
    located = lat is not None and lon is not None
    country = record.get("country")
    return Place(
        name=record["name"].strip(),
        country=country.upper() if isinstance(country, str) and len(country) == 2 and country.isalpha() else None,
        latitude=lat if located else None,
        longitude=lon if located else None,
        place_id=str(record["id"]) if record.get("id") else None,
        kind=record.get("kind") if isinstance(record.get("kind"), str) else None,
    )


def _strings(values: Any) -> Iterable[str]:
    if isinstance(values, str):
        values = [values]
    for value in values or ():
        if isinstance(value, str) and value.strip():
            yield value.strip()


def _degrees(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not -bound <= value <= bound:
        return None
    return float(value)


def location_from_place(place: Place, **common: Any) -> Location | None:
    """The STIX location of ``place``, or None when STIX cannot hold it yet (no country, no coordinates).

    ``common`` carries the properties every exported object has (created_by_ref, markings, timestamps)."""
    if not place.locatable:
        return None
    props: dict[str, Any] = {"name": place.name}
    if place.latitude is not None and place.longitude is not None:
        props.update(latitude=place.latitude, longitude=place.longitude)
    if place.country:
        props["country"] = place.country
    return Location(id=place.stix_id, **props, **common)
