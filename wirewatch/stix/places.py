"""Places as STIX ``location`` objects: one function, ``location_from_place``, makes a location from a place record.

Today a place is what an article already carries: a name tagged GPE or LOC by NER (``entity_names.gpe`` and
``.loc``). STIX 2.1 requires a location to have a ``region``, a ``country`` or coordinates, so a place becomes a
location when its name is a country's (in English, French or Arabic: "Libya", "Libye", "ليبيا" give ``LY``, from
CLDR's territory names shipped with Babel); a town or region without coordinates is left out and counted. When
places are resolved to coordinates, ``Place.latitude`` / ``longitude`` (and ``country``) are filled in where
the place records are made and every such place becomes a location here, with no other change.
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

    @property
    def locatable(self) -> bool:
        """Whether STIX can hold it: a location needs a country or both coordinates (or a region, unused here)."""
        return bool(self.country) or (self.latitude is not None and self.longitude is not None)

    @property
    def stix_id(self) -> str:
        """Stable per place, so every article naming it points at one location: a country by its code (Libya,
        Libye and ليبيا are one), any other place by its folded name."""
        if self.country and country_code(self.name) == self.country:
            return stix_id("location", "country", self.country)
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
    """The article's GPE and LOC names as places (first mention order, no repeats), countries recognised."""
    names = article.get("entity_names") or {}
    seen: dict[str, Place] = {}
    for kind in _PLACE_TYPES:
        for name in _strings(names.get(kind)):
            place = Place(name=name, country=country_code(name))
            seen.setdefault(place.stix_id, place)
    return list(seen.values())


def _strings(values: Any) -> Iterable[str]:
    if isinstance(values, str):
        values = [values]
    for value in values or ():
        if isinstance(value, str) and value.strip():
            yield value.strip()


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
