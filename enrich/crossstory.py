"""One story across languages: reports of the same event in other languages agree on their linked signals.

MinHash (``enrich/stories.py``) joins copies that share words, so a French, an English and an Arabic report of
one kidnapping share none and make three stories. Their events do share signals that do not depend on the
language: the event type, the resolved place id, the tracked groups, the day and the stated toll. Two reports
in different languages are one story when one event of each agrees:

- the same place id, and the same event type or the same tracked group (a named force such as "gunmen" is no
  group: it says nothing about who did it);
- both days known: within ``window_days`` of each other (an event day when both state one, and the
  publication days too: a report ten days later is another event at the same town);
- fatalities, when both state them, within ``FATALITY_TOLERANCE`` (early and later counts differ a little;
  "3" against "12" is another event).

An event without a place id never joins (precision first: "an attack in the north" is no signal). This module
imports nothing of ours; the candidates come from the index (``search/crossstory.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

WINDOW_DAYS = 3
FATALITY_TOLERANCE = 0.25  # relative to the larger count, and at least one


@dataclass(frozen=True, slots=True)
class EventSignal:
    """What of one event can be compared across languages."""

    type: str
    place_id: str
    group_ids: frozenset[str]
    day: date | None
    fatalities: int | None


@dataclass(frozen=True, kw_only=True)
class Report:
    """An article as the cross-language join sees it."""

    article_id: str
    story_id: str
    story_first_seen: str | None
    language: str | None
    published: date | None
    signals: tuple[EventSignal, ...]


def signals_of(events: Iterable[Mapping[str, Any]]) -> tuple[EventSignal, ...]:
    """The comparable part of stored events (``Event.to_dict()`` shapes); events without a place id are left out."""
    out = []
    for event in events:
        place = event.get("place") or {}
        if not place.get("id") or not event.get("type"):
            continue
        groups = frozenset(str(a["id"]) for a in event.get("actors") or () if a.get("kind") == "group")
        out.append(
            EventSignal(
                type=str(event["type"]), place_id=str(place["id"]), group_ids=groups,
                day=day_of(event.get("date")), fatalities=event.get("fatalities"),
            )
        )  # fmt: skip
    return tuple(out)


def day_of(stamp: str | None) -> date | None:
    """The day of an ISO date or timestamp (None when missing or unreadable)."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp).date()
    except ValueError:
        return None


def _within(a: date | None, b: date | None, days: int) -> bool:
    return a is None or b is None or abs((a - b).days) <= days


def tolls_agree(a: int | None, b: int | None) -> bool:
    """No contradiction: one side states none, or both counts lie within the tolerance."""
    if a is None or b is None:
        return True
    return abs(a - b) <= max(1.0, FATALITY_TOLERANCE * max(a, b))


def events_agree(a: EventSignal, b: EventSignal, *, window_days: int = WINDOW_DAYS) -> bool:
    if a.place_id != b.place_id:
        return False
    if a.type != b.type and not (a.group_ids & b.group_ids):
        return False
    return _within(a.day, b.day, window_days) and tolls_agree(a.fatalities, b.fatalities)


def reports_agree(new: Report, known: Report, *, window_days: int = WINDOW_DAYS) -> bool:
    """``new`` and ``known`` are one story: other languages, publication days in the window, one agreeing event."""
    if new.language and known.language and new.language == known.language:
        return False  # same-language copies are MinHash's: words say more than signals there
    if not (new.published and known.published) or not _within(new.published, known.published, window_days):
        return False
    return any(events_agree(a, b, window_days=window_days) for a in new.signals for b in known.signals)


def story_to_join(new: Report, candidates: Sequence[Report], *, window_days: int = WINDOW_DAYS) -> Report | None:
    """The candidate whose story ``new`` joins: the earliest-seen agreeing one (ties: the smaller story id),
    so the outcome does not depend on the order of ``candidates``; None when none agrees."""
    agreeing = [
        c for c in candidates if c.article_id != new.article_id and reports_agree(new, c, window_days=window_days)
    ]
    if not agreeing:
        return None
    return min(agreeing, key=lambda c: (c.story_first_seen or "9999", c.story_id, c.article_id))
