"""Every place name of the table in a text, with offsets: one Aho-Corasick scan, whatever the table's size.

Names go through the group gazetteer's normalisation (``enrich.normalize``: case, accents, dashes, Arabic
spelling variants) and its boundary and Arabic prefix rules (``enrich.gazetteer``: "وطرابلس", "بطرابلس",
"لليبيا"), so "Tombouctou", "Timbuktu" and "تمبكتو" are found the same way group names are. A Latin-script
match must start with a capital letter in the text ("reading" is not Reading); an Arabic name without the
article does not match after it ("المالي" is "the Malian" or "the financial", not Mali). Names that are ordinary words
of English or French (spaCy's stop-word lists, and a few more) and one- or two-letter names are never keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from enrich.gazetteer import form_keys, on_boundaries, past_marks
from enrich.normalize import normalize, normalize_form
from enrich.places.table import Place, PlaceTable, is_arabic

_DISTRICT_KM = 60.0
_WORLD_VARIANTS = 4
_NON_ARABIC_LETTERS = frozenset("یکگپچژٹڈڑںھەېۆۇۈۋ")  # Persian, Urdu, Kurdish, Uyghur spellings
# capitalised words of news text that are also the name of some place in the table
_NOT_NAMES = frozenset(
    {"police", "mobile", "reading", "nice", "split", "mission", "surprise", "independence", "sale", "van",
     "bar", "bat", "march", "union", "president", "republic", "victoria", "aurora", "concord", "say", "mao",
     "ede", "aba", "ado", "of", "charlotte", "florence", "nancy", "jackson", "lincoln", "hamilton", "austin",
     "orange", "cork", "bath", "derby", "reims", "tours", "marsa", "centre", "center", "boni",
     "gao feng", "garoua", "africa", "europe", "asia", "north", "south", "east", "west", "state", "city",
     "dieu", "paix", "gare", "bou", "pont", "mer", "sud", "nord", "est", "ouest", "ville",
     "tera", "gaya", "wawa", "bida", "ilorin"}
)  # fmt: skip


def _stop_words() -> frozenset[str]:
    from spacy.lang.ar.stop_words import STOP_WORDS as AR
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.fr.stop_words import STOP_WORDS as FR

    return frozenset(normalize_form(w) for w in (*EN, *FR, *AR))


def name_index(table: PlaceTable) -> dict[str, tuple[str, ...]]:
    """normalised name -> the ids of the places it names (built once, by enrich.places.build).

    A name that is a place's canonical name does not also name the places that carry it only as a variant
    within ``_DISTRICT_KM`` (GeoNames gives a city's districts the city's name: "Cairo" is not Nasr City).
    """
    stop = _stop_words() | _NOT_NAMES
    by_key: dict[str, list[Place]] = {}
    for place in table.places.values():
        for name in _indexed_names(place):
            key = normalize_form(name)
            if len(key) < 3 or key in stop or (not is_arabic(name) and len(key) < 4 and place.kind == "town"):
                continue
            found = by_key.setdefault(key, [])
            if place not in found:
                found.append(place)
    index = {}
    for key, places in by_key.items():
        owners = [p for p in places if key in p.canonical_keys()]
        kept = [p for p in places if p in owners or not any(_km(p, o) <= _DISTRICT_KM for o in owners)]
        index[key] = tuple(p.id for p in kept)
    return index


def _indexed_names(place: Place) -> list[str]:
    """Every name of a country, a capital or a place of the region of interest; for other cities of the world
    the canonical names and the spellings of the same name (same first letters: "Mogadiscio", "Marseilles"),
    not GeoNames' every transliteration: three quarters fewer keys, a table that loads in well under a second."""
    names = place.names()
    if place.kind in {"country", "capital"} or place.focus:
        return names
    own = normalize_form(place.name)[:2]
    canonical = [n for n in (place.name, place.name_fr, place.name_ar) if n]
    latin = [v for v in place.variants if not is_arabic(v) and normalize_form(v)[:2] == own][:_WORLD_VARIANTS]
    arabic = [v for v in place.variants if is_arabic(v) and not set(v) & _NON_ARABIC_LETTERS][:_WORLD_VARIANTS]
    return list(dict.fromkeys([*canonical, *latin, *arabic]))


def _km(a: Place, b: Place) -> float:
    return abs(a.lat - b.lat) * 111 + abs(a.lon - b.lon) * 111 * 0.8


def _after_article(text: str, start: int, key: str) -> bool:
    """True for an Arabic name without the article written with it ("المالي": the Malian, the financial):
    a place name never takes ال unless it has it ("الجزائر"), so that is an adjective, not the place."""
    if start < 2 or text[start - 2 : start] != "ال" or key.startswith("ال"):
        return False
    return start == 2 or not text[start - 3].isalnum() or text[start - 3] in "وفبكل"


@dataclass(frozen=True, slots=True)
class NameMatch:
    """A place name in the text: ``text[start:end]``, and the ids of every place it names."""

    start: int
    end: int
    key: str  # the normalised name
    place_ids: tuple[str, ...]


class PlaceAutomaton:
    """Build once per process (a fraction of a second), call :meth:`find` per text."""

    def __init__(self, index: dict[str, tuple[str, ...]]) -> None:
        import ahocorasick  # imported here: DAG files import enrich without paying for it

        self.ids = index
        self._automaton: Any = ahocorasick.Automaton()
        for key in index:
            for variant in form_keys(key):
                if variant not in self._automaton:
                    self._automaton.add_word(variant, (len(variant), key))
        self._automaton.make_automaton()

    def lookup(self, name: str) -> tuple[str, ...]:
        """The places a whole name (an NER span) names."""
        return self.ids.get(normalize_form(name), ())

    def find(self, text: str) -> list[NameMatch]:
        """Place names in ``text``, longest first where they overlap, in text order."""
        norm = normalize(text, fold=True)
        found = []
        for last, (length, key) in self._automaton.iter(norm.text):
            start, end = last - length + 1, last + 1
            if not on_boundaries(norm.text, start, end) or _after_article(norm.text, start, key):
                continue
            o_start, o_end = norm.to_original(start, end)
            first = text[o_start]
            if first.isalpha() and not is_arabic(first) and not first.isupper():
                continue
            found.append(NameMatch(o_start, past_marks(text, o_end), key, self.ids[key]))
        taken: list[NameMatch] = []
        for match in sorted(found, key=lambda m: (m.start - m.end, m.start)):
            if all(match.end <= t.start or match.start >= t.end for t in taken):
                taken.append(match)
        return sorted(taken, key=lambda m: m.start)
