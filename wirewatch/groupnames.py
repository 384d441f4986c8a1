"""Tracked-group names typed by an analyst (``group:AQIM``, ``group:"Al-Qaïda au Maghreb islamique"``) -> ids.

The search stage takes :meth:`GroupNames.resolve` as its ``resolve_group`` function (stages do not import each
other): an id, the name or any alias of a watchlist group, matched as the tagger folds forms (case, diacritics,
apostrophe and hyphen variants), in any script the watchlist lists.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from enrich.normalize import normalize_form
from enrich.watchlist import Watchlist
from wirewatch.places import find_place


@dataclass(frozen=True)
class GroupNames:
    by_form: dict[str, str]  # folded id, name or alias -> group id
    # name or alias -> group id, for a query word worth a hint: folded for the forms matched whatever their case,
    # as written for the case-sensitive ones ("AQIM" is the group, "is" is not "IS")
    plain: dict[str, str]
    ids: frozenset[str] = frozenset()
    people: dict[str, str] = field(default_factory=dict)  # folded id, name or alias -> the person's name

    @classmethod
    def of(cls, watchlist: Watchlist) -> GroupNames:
        by_form: dict[str, str] = {}
        plain: dict[str, str] = {}
        for group in watchlist:
            for form in group.insensitive_forms():
                plain.setdefault(normalize_form(form), group.id)
            for form in group.case_sensitive:
                plain.setdefault(normalize_form(form, fold=False), group.id)
            for form in (group.id, *group.insensitive_forms(), *group.case_sensitive):
                by_form.setdefault(normalize_form(form), group.id)  # the first group keeps a shared form
        people: dict[str, str] = {}
        for person in watchlist.people:
            for form in (person.id, *person.insensitive_forms(), *person.case_sensitive):
                people.setdefault(normalize_form(form), person.name)
        return cls(by_form, plain, frozenset(group.id for group in watchlist), people)

    def canonical_entity(self, value: str) -> str:
        """An entity filter (``TYPE:Name`` or ``Name``) as the tagger names the entity: a tracked person by any
        id, name or alias (``PERSON:إياد أغ غالي`` -> ``PERSON:Iyad Ag Ghaly``), a place by any of its names
        in the place table (``GPE:Libye`` -> ``GPE:Libya``); anything else unchanged."""
        kind, sep, name = value.partition(":")
        if not sep or kind.upper() not in {"PERSON", "GPE", "LOC"}:
            kind, name = "", value
        person = self.people.get(normalize_form(name))
        if person and kind.upper() in {"", "PERSON"}:
            return f"PERSON:{person}"
        if kind.upper() in {"", "GPE", "LOC"}:
            place = find_place(name)
            if place is not None and (kind or normalize_form(place.name) != normalize_form(name)):
                return f"GPE:{place.name}"
        return value

    def named_by(self, word: str) -> str | None:
        """The group whose name or alias ``word`` is, exactly (folded as the tagger folds, a case-sensitive
        alias as written), or None."""
        key = normalize_form(word)
        if not key:
            return None
        return self.plain.get(key) or self.plain.get(normalize_form(word, fold=False))

    def resolve(self, text: str) -> str | None:
        """The id of the group ``text`` names (id, name or alias), or None."""
        if text.strip() in self.ids:
            return text.strip()  # an id first: another group's alias never takes it
        key = normalize_form(text)
        return self.by_form.get(key) if key else None

    def suggest(self, text: str, *, n: int = 3) -> list[str]:
        """The ids of the groups whose id, name or alias is closest to ``text`` (a typo: ``aqmi``), best first."""
        key = normalize_form(text)
        close = difflib.get_close_matches(key, list(self.by_form), n=n * 3, cutoff=0.6) if key else []
        return list(dict.fromkeys(self.by_form[form] for form in close))[:n]
