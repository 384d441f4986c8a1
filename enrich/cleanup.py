"""The NER clean-up: raw model spans, resolved places and tracked people in, the text's entities out.

The small English model's errors are an analyst's first impression of the data, so its spans are corrected
with what the project knows better:

* **fragments**: a span that starts or ends with a connecting word ("Timbuktu and", "and Gao", "Mali on") is
  cut to the name; a span left with no capitalised word is dropped (``enrich.entities.trim_mention``);
* **places**: a span that is a resolved place's mention is a GPE whatever NER said ("Mali" is not a PERSON),
  and every place entity is named by its place (``Libya`` for "Libye" and "ليبيا"), one entity per place id,
  with the mentions NER missed (an Arabic text has places and no NER);
* **tracked people** (the watchlist's ``people``): their mentions, in any script, are one PERSON entity named
  as the watchlist names it; a model span overlapping one is dropped;
* **surnames**: a span that is the last words of a person named earlier in the text ("Koufa" after "Amadou
  Koufa", "Ghaly" after "Iyad Ag Ghaly") is that person, whatever label NER gave it.

Measured on ``tests/golden_entities`` (bench/README.md, "NER clean-up").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from enrich.entities import RawEntity, build_entities, trim_mention
from enrich.normalize import normalize_form
from enrich.tags import Entity, Mention, PlaceTag

_CONNECTORS = r"and|or|but|of|in|on|at|to|from|with|near|et|ou|de|du|des|à|au|aux|sur|dans|près"
_LEADING = re.compile(rf"^(?:{_CONNECTORS})\s+")
_TRAILING = re.compile(rf"\s+(?:{_CONNECTORS})$")
_NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"})


@dataclass(frozen=True, slots=True)
class PersonMention:
    """A tracked person's mention (from the watchlist's people): ``text[start:end]``, the canonical name."""

    name: str
    start: int
    end: int


def clean_entities(
    text: str,
    raw: Sequence[RawEntity],
    places: Sequence[PlaceTag] = (),
    people: Sequence[PersonMention] = (),
    blocked: Sequence[tuple[int, int]] = (),
) -> tuple[Entity, ...]:
    """The entities of ``text`` from the model's ``raw`` spans corrected as the module says."""
    place_spans = {(m.start, m.end): tag for tag in places for m in tag.mentions}
    people = [*people, *_later_surnames(text, people, place_spans)]
    taken = [(p.start, p.end) for p in people] + list(place_spans)
    fixed: list[RawEntity] = []
    for span in raw:
        cut = _cut_fragment(text, span)
        if cut is None or (cut.start, cut.end) in place_spans:
            continue  # a place's mention: its entity comes from the place below
        if any(cut.start < end and start < cut.end for start, end in taken):
            continue
        fixed.append(cut)
    known = _full_names(text, fixed, people)
    people_mentions: dict[str, list[Mention]] = {}
    for person in people:
        mention = Mention(person.start, person.end, text[person.start : person.end])
        people_mentions.setdefault(person.name, []).append(mention)
    ner_spans: list[RawEntity] = []
    for span in fixed:
        owner = _surname_of(text, span, known)
        if owner is not None and owner[1] is not None:
            people_mentions.setdefault(owner[1], []).append(Mention(span.start, span.end, text[span.start : span.end]))
        else:
            ner_spans.append(RawEntity("PERSON", span.start, span.end) if owner else span)
    entities = list(build_entities(text, ner_spans, blocked))
    entities += [
        Entity("PERSON", name, tuple(sorted(found, key=lambda m: m.start))) for name, found in people_mentions.items()
    ]
    entities += [Entity("GPE", tag.place.name, tag.mentions) for tag in places]
    entities.sort(key=lambda e: e.mentions[0].start)
    return tuple(entities)


def _later_surnames(
    text: str, people: Sequence[PersonMention], places: dict[tuple[int, int], PlaceTag]
) -> list[PersonMention]:
    """Mentions of a tracked person by the last words of the name the text first used ("Ag Ghaly", "Ghaly"
    after "Iyad Ag Ghaly"), in Latin script only (an Arabic surname alone is often an ordinary word)."""
    found: list[PersonMention] = []
    taken = [(p.start, p.end) for p in people] + list(places)
    first: dict[tuple[str, str], PersonMention] = {}  # each spelling of each person, from its first mention
    for person in sorted(people, key=lambda p: p.start):
        first.setdefault((person.name, text[person.start : person.end]), person)
    for person in first.values():
        words = text[person.start : person.end].split()
        if len(words) < 2 or not words[-1][:1].isupper() or not words[-1].isascii():
            continue
        for size in range(len(words) - 1, 0, -1):
            tail = " ".join(words[-size:])
            if len(tail) < 4:
                continue
            for match in re.finditer(rf"(?<!\w){re.escape(tail)}(?!\w)", text[person.end :], re.IGNORECASE):
                start, end = person.end + match.start(), person.end + match.end()
                if text[start].isupper() and not any(start < t_end and t_start < end for t_start, t_end in taken):
                    found.append(PersonMention(person.name, start, end))
                    taken.append((start, end))
    return found


def _cut_fragment(text: str, span: RawEntity) -> RawEntity | None:
    """``span`` without connecting words at either end, trimmed as entity mentions are; None if nothing is left."""
    start, end = span.start, span.end
    while True:
        piece = text[start:end]
        lead = _LEADING.match(piece)
        trail = _TRAILING.search(piece)
        if not (lead or trail):
            break
        start += lead.end() if lead else 0
        end -= len(trail.group()) if trail else 0
    mention = trim_mention(text, start, end)
    return RawEntity(span.label, mention.start, mention.end) if mention else None


def _full_names(
    text: str, spans: Sequence[RawEntity], people: Sequence[PersonMention]
) -> list[tuple[int, list[str], str | None]]:
    """(start, words, tracked name or None) of every name of two words or more a surname can join."""
    names: list[tuple[int, list[str], str | None]] = [
        (p.start, normalize_form(text[p.start : p.end]).split(), p.name) for p in people
    ]
    names += [(s.start, normalize_form(text[s.start : s.end]).split(), None) for s in spans if s.label == "PERSON"]
    return [n for n in names if len(n[1]) >= 2]


def _surname_of(
    text: str, span: RawEntity, known: list[tuple[int, list[str], str | None]]
) -> tuple[int, str | None] | None:
    """The earlier full name ``span`` ends ("Koufa", "Ag Ghaly"): (its start, the tracked name or None)."""
    if span.label not in _NAME_LABELS:
        return None
    words = normalize_form(text[span.start : span.end]).split()
    for start, full, tracked in known:
        if start < span.start and len(words) < len(full) and full[-len(words) :] == words:
            return start, tracked
    return None
