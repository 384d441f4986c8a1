"""The output of the enrich stage: one :class:`Tags` record per text.

``Tags.to_dict()`` gives exactly the ``entities``, ``entity_names``, ``groups``, ``group_ids``, ``events``,
``places``, ``place_ids`` and ``place_countries`` fields of the article document (docs/article-document.md);
``language``, ``ner_done``, ``ner_model`` and ``ner_skipped`` are separate document fields that the pipeline
copies from the record itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from enrich.events.model import Event
from enrich.places.table import Place

ENTITY_LABELS: tuple[str, ...] = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT")


@dataclass(frozen=True, slots=True)
class Mention:
    """Where a name occurs: ``text[start:end] == surface``."""

    start: int
    end: int
    surface: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "surface": self.surface}


class _Mentioned:
    """What entities and tracked groups share: a tuple of mentions, counted and read as distinct forms."""

    __slots__ = ()
    mentions: tuple[Mention, ...]

    @property
    def count(self) -> int:
        return len(self.mentions)

    @property
    def surface_forms(self) -> list[str]:
        return _distinct(m.surface for m in self.mentions)


@dataclass(frozen=True, slots=True)
class Entity(_Mentioned):
    """One entity of a text (all its mentions merged) found by statistical NER."""

    label: str
    canonical: str
    mentions: tuple[Mention, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.label,
            "canonical": self.canonical,
            "surface_forms": self.surface_forms,
            "count": self.count,
            "mentions": [m.to_dict() for m in self.mentions],
        }


@dataclass(frozen=True, slots=True)
class GroupTag(_Mentioned):
    """One tracked group found in a text, with every mention."""

    id: str
    name: str
    parent: str | None
    mentions: tuple[Mention, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "parent": self.parent,
            "surface_forms": self.surface_forms,
            "count": self.count,
            "mentions": [m.to_dict() for m in self.mentions],
        }


def place_record(place: Place) -> dict[str, Any]:
    """The one dict of a place: what the article stores per place (with its mentions), what ``tag --json``
    prints, what exports read. ``location`` is the Elasticsearch ``geo_point``; ``lat``/``lon`` repeat it
    for readers that do not speak geo_point."""
    return {
        "id": place.id,
        "name": place.name,
        "name_fr": place.name_fr or place.name,
        "name_ar": place.name_ar or place.name,
        "kind": place.kind,
        "country": place.country,
        "admin1": place.admin1 or None,
        "lat": place.lat,
        "lon": place.lon,
        "location": {"lat": place.lat, "lon": place.lon},
    }


@dataclass(frozen=True, slots=True)
class PlaceTag(_Mentioned):
    """One place of a text (a row of the place table), with every mention of it."""

    place: Place
    mentions: tuple[Mention, ...]

    @property
    def id(self) -> str:
        return self.place.id

    def to_dict(self) -> dict[str, Any]:
        return {
            **place_record(self.place),
            "surface_forms": self.surface_forms,
            "count": self.count,
            "mentions": [m.to_dict() for m in self.mentions],
        }


@dataclass(frozen=True, slots=True)
class Tags:
    """Entities and tracked groups of one text. ``ner_done`` is False while only the gazetteer has run."""

    entities: tuple[Entity, ...] = ()
    groups: tuple[GroupTag, ...] = ()
    places: tuple[PlaceTag, ...] = ()
    language: str | None = None
    ner_done: bool = False
    ner_model: str | None = None  # the spaCy model that found the entities
    ner_skipped: str | None = None  # why NER did not run on this text (no model for its language)
    events: tuple[Event, ...] = ()  # found with the entities (enrich/events): the nearest place comes from them

    @property
    def group_ids(self) -> list[str]:
        return [g.id for g in self.groups]

    def entity_names(self) -> dict[str, list[str]]:
        """Canonical names per entity type, every type present (empty list when none)."""
        names: dict[str, list[str]] = {label.lower(): [] for label in ENTITY_LABELS}
        for entity in self.entities:
            bucket = names.setdefault(entity.label.lower(), [])
            if entity.canonical not in bucket:
                bucket.append(entity.canonical)
        return names

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": [e.to_dict() for e in self.entities],
            "entity_names": self.entity_names(),
            "groups": [g.to_dict() for g in self.groups],
            "group_ids": self.group_ids,
            "events": [e.to_dict() for e in self.events],
            **self.place_fields(),
        }

    def place_fields(self) -> dict[str, Any]:
        """The ``places``, ``place_ids`` and ``place_countries`` fields of the article document."""
        return {
            "places": [p.to_dict() for p in self.places],
            "place_ids": [p.id for p in self.places],
            "place_countries": sorted({p.place.country for p in self.places}),
        }


def _distinct(values: Any) -> list[str]:
    return list(dict.fromkeys(values))
