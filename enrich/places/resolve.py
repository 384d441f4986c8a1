"""Every place mention of a text resolved to one row of the place table.

Candidates come from the place automaton (every name of the table, in any of the three languages) and are
checked against the NER spans when the text had NER:

* a name inside a longer PERSON span is part of a person's name ("Chad Johnson"); a Latin name followed by
  another capitalised word that is not a place is read the same way when NER did not call it a place
  ("Gao Feng", "Niger State");
* a name after "river", "fleuve", "lake", "lac", "نهر", "بحيرة" or before "River" is a river or a lake, not the
  country ("the Niger River", "lac Tchad");
* a name inside a tracked group's name or page furniture (``blocked``) is not a place of the article;
* a span NER labelled PERSON or ORG that is exactly a country, a capital or a town of the region of interest is
  a place whatever NER said ("Mali", "Gao"); any other place needs NER's GPE/LOC/FAC label, or context (its
  country named, or a place near it), so that "Florence" the person stays a person and "مدينة" ("city") is
  not Medina.

Homonyms are scored by context (:func:`_score`): the countries the article names and the countries of its
unambiguous places, other places within ``NEAR_KM``, population, a country or capital over a town of the
same name, a canonical name over a variant, and the region of interest. Names that are also ordinary words
(the table's ``weak`` names, such as الزاوية "the corner" or مالي "financial") count only with such context or
right after an Arabic locative word or prefix ("في مالي", "بمالي").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from enrich.normalize import normalize_form
from enrich.places.automaton import NameMatch, PlaceAutomaton
from enrich.places.table import Place, PlaceTable, is_arabic, load_places
from enrich.tags import Mention, PlaceTag

NEAR_KM = 400.0
_GEO_LABELS = frozenset({"GPE", "LOC", "FAC"})
_STRONG_KINDS = frozenset({"country", "capital"})
_WATER_BEFORE = re.compile(r"(?:\b(?:[Rr]iver|[Ff]leuve|[Ll]ake|[Ll]ac)|نهر|بحيرة)\s*(?:du\s+|de\s+la\s+|the\s+)?$")
_WATER_AFTER = re.compile(r"^\s+(?:[Rr]iver|[Bb]asin|[Dd]elta)\b")
_NEXT_WORD = re.compile(r"^ ([A-Z][a-z]+)\b")
_TITLE_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Mme|Mlle|M|Sir|Lady|Mister|Madame|Monsieur)\.?\s+$")
# an Arabic word that says a place follows: a weak name after it is the place ("في مالي": in Mali)
_LOCATIVE_BEFORE = re.compile(
    "(?:^|[\\s،,.:؛])(?:[وف]?(?:في|الى|إلى|إلي|شمال|جنوب|شرق|غرب|وسط|دولة|دوله|جمهورية|حكومة|عاصمة|"
    "حدود|مدينة|بلدة|منطقة|شمالي|جنوبي|شرقي|غربي))\\s+$"
)
_LOCATIVE_PREFIX = frozenset("بل")  # "بمالي" (in Mali), "لمالي" (to/of Mali)
_NOT_NAME_WORDS = frozenset(
    {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
     "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
     "On", "In", "And", "But", "The", "A", "After", "Since", "While", "Le", "La", "Les", "Et", "Mais", "Lundi"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Span:
    """An NER span as the resolver needs it (label, offsets)."""

    label: str
    start: int
    end: int


@dataclass(slots=True)
class _Candidate:
    match: NameMatch
    places: list[Place]
    ner_geo: bool  # NER labelled this very span a place
    conditional: frozenset[str]  # ids of places that count only with context (a country or a place near)
    locative: bool = False  # an Arabic locative word or prefix is attached or right before it


class PlaceResolver:
    """Resolves place mentions against ``table`` (default: the project's table, loaded once)."""

    def __init__(self, table: PlaceTable | None = None) -> None:
        self.table = table if table is not None else load_places()
        self.automaton = PlaceAutomaton(self.table.names)

    def resolve(
        self, text: str, spans: Iterable[Span] = (), blocked: Sequence[tuple[int, int]] = ()
    ) -> tuple[PlaceTag, ...]:
        """The places of ``text``, one :class:`PlaceTag` per place id, in order of first mention."""
        spans = list(spans)
        candidates = [c for m in self.automaton.find(text) if (c := self._candidate(text, m, spans, blocked))]
        countries, anchors = _context(candidates)
        mentions: dict[str, list[Mention]] = {}
        chosen: dict[str, Place] = {}
        # a name comes back many times in an article ("Mali", "مالي"), and its choice depends only on the
        # name's candidates and the article's context: decided once per name, not once per mention
        decided: dict[tuple[object, ...], Place | None] = {}
        for cand in candidates:
            signature = (cand.match.key, tuple(p.id for p in cand.places), cand.conditional, cand.locative)
            if signature not in decided:
                decided[signature] = _best(cand, countries, anchors)
            place = decided[signature]
            if place is None:
                continue
            chosen[place.id] = place
            start, end = cand.match.start, cand.match.end
            mentions.setdefault(place.id, []).append(Mention(start, end, text[start:end]))
        return tuple(PlaceTag(chosen[pid], tuple(found)) for pid, found in mentions.items())

    def _candidate(
        self, text: str, match: NameMatch, spans: list[Span], blocked: Sequence[tuple[int, int]]
    ) -> _Candidate | None:
        start, end = match.start, match.end
        if any(start < b_end and b_start < end for b_start, b_end in blocked):
            return None
        if _WATER_BEFORE.search(text[max(0, start - 20) : start]) or _WATER_AFTER.match(text[end : end + 10]):
            return None
        exact = [s.label for s in spans if s.start == start and s.end == end]
        covering = [s for s in spans if s.start <= start and end <= s.end]
        ner_geo = any(s.label in _GEO_LABELS for s in covering)
        if any(s.label == "PERSON" and (s.end - s.start) > (end - start) for s in covering) and not ner_geo:
            return None
        if not ner_geo and not is_arabic(text[start]) and self._followed_by_name(text, end):
            return None
        if _TITLE_BEFORE.search(text[max(0, start - 12) : start]):
            return None  # "Mr Gao", "M. Chad": a person
        places = [p for pid in match.place_ids if (p := self.table.places.get(pid)) is not None]
        ner_other = bool(exact) and not ner_geo
        strong = [p for p in places if p.kind in _STRONG_KINDS or p.focus]
        others = [] if ner_other else [p for p in places if p not in strong]
        conditional = frozenset(p.id for p in others if not ner_geo)
        if not (strong or others):
            return None
        locative = bool(_LOCATIVE_BEFORE.search(text[max(0, start - 16) : start])) or (
            start > 0 and text[start - 1] in _LOCATIVE_PREFIX and (start < 2 or not text[start - 2].isalnum())
        )
        return _Candidate(match, strong + others, ner_geo, conditional, locative)

    def _followed_by_name(self, text: str, end: int) -> bool:
        """True when a capitalised word follows that is not a country, capital or town of the region:
        "Gao Feng", "Chad Johnson", "Niger State" ("Mali Tuesday" and "Gao Menaka" stay places)."""
        word = _NEXT_WORD.match(text[end : end + 30])
        if word is None or word.group(1) in _NOT_NAME_WORDS:
            return False
        places = (self.table.places.get(pid) for pid in self.automaton.lookup(word.group(1)))
        return not any(p is not None and (p.kind in _STRONG_KINDS or p.focus) for p in places)


def _context(candidates: list[_Candidate]) -> tuple[set[str], list[Place]]:
    """Countries the text names or places in, and the places it names unambiguously (the anchors)."""
    countries: set[str] = set()
    anchors: list[Place] = []
    for cand in candidates:
        if len(cand.places) == 1 and not _is_weak(cand) and not cand.conditional:
            place = cand.places[0]
            countries.add(place.country)
            if place.kind != "country":
                anchors.append(place)
        countries.update(p.country for p in cand.places if p.kind == "country" and not _is_weak(cand))
    return countries, anchors


def _near(anchor: Place, place: Place) -> bool:
    """An anchor supports a place near it, and a country it lies in ("Kasserine ... تونس" is Tunisia)."""
    if place.kind == "country":
        return anchor.country == place.country
    return distance_km(anchor, place) <= NEAR_KM


def _is_weak(cand: _Candidate) -> bool:
    return any(cand.match.key in _keys_of(p.weak) for p in cand.places if p.weak)


@lru_cache(maxsize=65536)
def _keys_of(names: frozenset[str] | tuple[str, ...]) -> frozenset[str]:
    """Normalised keys of a few names (cached: the same places come back article after article)."""
    return frozenset(normalize_form(n) for n in names if n)


def _best(cand: _Candidate, countries: set[str], anchors: list[Place]) -> Place | None:
    options = []
    for place in cand.places:
        near = any(_near(a, place) for a in anchors)
        in_context = place.country in countries
        if place.id in cand.conditional and not (near or in_context):
            continue
        if _is_weak(cand) and not (near or in_context or cand.locative):
            continue
        options.append((_score(cand, place, countries, near), place.id, place))
    return max(options)[2] if options else None


def _score(cand: _Candidate, place: Place, countries: set[str], near: bool) -> float:
    score = math.log10(place.population + 10)
    score += {"country": 3.0, "capital": 1.5}.get(place.kind, 0.0)
    score += 2.0 if cand.match.key in _keys_of((place.name, place.name_fr, place.name_ar)) else 0.0
    score += 1.0 if place.focus else 0.0
    score += 4.0 if place.country in countries else 0.0
    score += 3.0 if near else 0.0
    return score


@lru_cache(maxsize=1)
def default_resolver() -> PlaceResolver:
    """The resolver over the project's table, built once per process."""
    return PlaceResolver()


def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance between two places."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, h)))
