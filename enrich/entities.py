"""From raw NER spans to the entities of a text: canonical names, merged mentions, overlaps removed.

* A mention with no capital letter is not a name ("jihadist") and is dropped.
* The canonical name drops a leading "the" (French: a lower-case "le", "la", "les", or "l'" before a capital,
  as in "l'Armée nationale libyenne"; "Le Caire" keeps its article), a possessive "'s" and surrounding quotes,
  and collapses whitespace;
  the mention's offsets are trimmed the same way, so they highlight the name only.
* Mentions of one name in different spellings ("Al Baghdadi", "al-Baghdadi") share a key (the matching
  normalisation) and become one entity; a shorter person name that occurs inside exactly one longer person name
  of the same text ("Belmokhtar" in "Mokhtar Belmokhtar") joins that person.
* A mention overlapping a blocked span (a tracked-group match, page boilerplate) is dropped: the gazetteer wins.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from enrich.normalize import normalize_form
from enrich.tags import ENTITY_LABELS, Entity, Mention

# used with match(text, pos): anchored at pos
_LEADING_THE = re.compile(r"(?i:the)\s+|(?:le|la|les)\s+|[lL]['’](?=[^\W\d_])")
_POSSESSIVE = re.compile(r"(?<=\w)['’](?:s|S)?$")
_QUOTES = "\"'“”‘’«»()[]{},;:"
_KEPT = frozenset(ENTITY_LABELS)


@dataclass(frozen=True, slots=True)
class RawEntity:
    """One span as the NER model labelled it (picklable: it crosses process boundaries)."""

    label: str
    start: int
    end: int


def build_entities(text: str, raw: Iterable[RawEntity], blocked: Sequence[tuple[int, int]] = ()) -> tuple[Entity, ...]:
    """The entities of ``text`` from its raw NER spans, skipping spans that overlap ``blocked``."""
    mentions: list[tuple[str, Mention]] = []
    for span in raw:
        if span.label not in _KEPT:
            continue
        mention = trim_mention(text, span.start, span.end)
        if mention is None or _overlaps(mention, blocked):
            continue
        mentions.append((span.label, mention))
    return _merge(mentions)


def canonical_name(surface: str) -> str:
    """The canonical form of a name: "the Libyan National Army" -> "Libyan National Army"."""
    mention = trim_mention(surface, 0, len(surface))
    return " ".join(mention.surface.split()) if mention else ""


def trim_mention(text: str, start: int, end: int) -> Mention | None:
    """The mention without leading "the", quotes or a trailing possessive; None if nothing useful is left."""
    while start < end and (text[start].isspace() or text[start] in _QUOTES):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _QUOTES):
        end -= 1
    leading = _LEADING_THE.match(text, start, end)
    if leading and leading.end() < end:
        start = leading.end()
    possessive = _POSSESSIVE.search(text[start:end])
    if possessive:
        end = start + possessive.start()
    surface = text[start:end]
    if surface.lower() == "the":
        return None
    if sum(c.isalnum() for c in surface) < 2 or not any(c.isupper() for c in surface):
        return None  # English names are capitalised: "jihadist" labelled NORP is not a name
    return Mention(start, end, surface)


def _overlaps(mention: Mention, blocked: Sequence[tuple[int, int]]) -> bool:
    return any(mention.start < b_end and b_start < mention.end for b_start, b_end in blocked)


def _merge(mentions: list[tuple[str, Mention]]) -> tuple[Entity, ...]:
    # 1. one cluster per (label, key): spelling variants of one name
    clusters: dict[tuple[str, str], list[Mention]] = {}
    for label, mention in mentions:
        key = normalize_form(" ".join(mention.surface.split()))
        clusters.setdefault((label, key), []).append(mention)
    # 2. short person names into the one longer person name that contains them
    target = _person_targets([key for (label, key) in clusters if label == "PERSON"])
    merged: dict[tuple[str, str], list[Mention]] = {}
    for (label, key), items in clusters.items():
        home = (label, target.get(key, key)) if label == "PERSON" else (label, key)
        merged.setdefault(home, []).extend(items)
    entities = []
    for (label, key), items in merged.items():
        items.sort(key=lambda m: m.start)
        entities.append(Entity(label, _display_name(items, key), tuple(items)))
    entities.sort(key=lambda e: e.mentions[0].start)
    return tuple(entities)


def _person_targets(keys: list[str]) -> dict[str, str]:
    """key -> the key of the longer person name it belongs to, when exactly one candidate stands out."""
    tokens = {key: key.split() for key in keys}
    targets: dict[str, str] = {}
    for key, toks in tokens.items():
        containing = [other for other, o in tokens.items() if len(o) > len(toks) and _contains(o, toks)]
        # "Baghdadi" is in "Al Baghdadi" and "Abu Bakr al Baghdadi": only the longest chain end counts
        maximal = [c for c in containing if not any(c != d and _contains(tokens[d], tokens[c]) for d in containing)]
        if len(maximal) == 1:
            targets[key] = maximal[0]
    return targets


def _contains(longer: list[str], shorter: list[str]) -> bool:
    size = len(shorter)
    return any(longer[i : i + size] == shorter for i in range(len(longer) - size + 1))


def _display_name(items: list[Mention], key: str) -> str:
    """The canonical name: the most common spelling among the mentions with the most words."""
    forms = [" ".join(m.surface.split()) for m in items]
    words = {f: len(normalize_form(f).split()) for f in forms}  # "al-Baghdadi" is two words
    most_words = max(words.values())
    counts = Counter(f for f in forms if words[f] == most_words)
    return counts.most_common(1)[0][0] if counts else key
