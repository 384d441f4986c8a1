"""An event as the article stores it: ``Event.to_dict()`` is one element of the nested ``events`` field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a tracked group (``kind`` "group", ``id`` its watchlist id) or a named force ("force",
    ``id`` one of army, police, militia, unidentified_gunmen, jihadists); ``start``/``end`` the mention."""

    id: str
    kind: str
    surface: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "surface": self.surface, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class PlaceSpan:
    """A place named in the text: ``id`` its place id (None for a name NER found but nobody resolved)."""

    id: str | None
    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Event:
    """One event of an article, with the sentence that states it (``sentence_start``/``sentence_end``)."""

    type: str
    subtype: str | None
    trigger: str
    trigger_start: int
    trigger_end: int
    actors: tuple[Actor, ...]
    targets: tuple[str, ...]
    place: PlaceSpan | None
    date: str | None  # ISO day, None when the article has no publication day
    date_phrase: str | None  # the words that set the day ("on Sunday"), None: the publication day
    fatalities: int | None  # None: the sentence states none (never guessed)
    wounded: int | None
    claim: str | None  # claimed, attributed, denied, or None: nobody claims it in the sentence
    sentence: str
    sentence_start: int
    sentence_end: int

    @property
    def actor_ids(self) -> list[str]:
        return [a.id for a in self.actors]

    def to_dict(self) -> dict[str, Any]:
        place = self.place
        return {
            "type": self.type,
            "subtype": self.subtype,
            "trigger": {"surface": self.trigger, "start": self.trigger_start, "end": self.trigger_end},
            "actors": [a.to_dict() for a in self.actors],
            "actor_ids": self.actor_ids,
            "targets": list(self.targets),
            "place": None
            if place is None
            else {"id": place.id, "name": place.name, "start": place.start, "end": place.end},
            "date": self.date,
            "date_phrase": self.date_phrase,
            "fatalities": self.fatalities,
            "wounded": self.wounded,
            "claim": self.claim,
            "sentence": {"text": self.sentence, "start": self.sentence_start, "end": self.sentence_end},
        }
