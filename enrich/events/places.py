"""The event's place: the place named nearest to the trigger, in its sentence first, else in its paragraph.

Input is a list of :class:`~enrich.events.model.PlaceSpan` (place id, name, start, end): resolved places when
the article has them, otherwise the GPE/LOC names NER found (id None).
"""

from __future__ import annotations

from collections.abc import Sequence

from enrich.events.model import PlaceSpan


def nearest_place(
    places: Sequence[PlaceSpan], trigger: tuple[int, int], sentence: tuple[int, int], paragraph: tuple[int, int]
) -> PlaceSpan | None:
    """The place in ``sentence`` nearest to ``trigger``; else the nearest in ``paragraph``; else None."""
    for lo, hi in (sentence, paragraph):
        inside = [p for p in places if lo <= p.start and p.end <= hi]
        if inside:
            return min(inside, key=lambda p: (_distance(p, trigger), p.start))
    return None


def _distance(place: PlaceSpan, trigger: tuple[int, int]) -> int:
    if place.end <= trigger[0]:
        return trigger[0] - place.end
    return max(0, place.start - trigger[1])
