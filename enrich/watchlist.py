"""The watchlist of tracked groups: a YAML file, loaded into plain frozen records and checked.

File format (see ``enrich/data/watchlist.yaml``)::

    groups:
      - id: islamic-state            # stable id: what documents, watches and alerts refer to
        name: Islamic State          # canonical name, also matched like an alias
        wikidata: Q2429253           # optional; Q followed by digits
        parent: null                 # optional id of the group this one is an affiliate of
        aliases: [Daesh, ISIL ...]   # matched ignoring case, diacritics, apostrophe and hyphen variants
        case_sensitive: [ISIS]       # matched only as written (ISIS is not the river Isis)
        ambiguous: [IS]              # as written, and only when the text also names the group another way
    people:                          # optional: the people an analyst tracks (leaders, spokesmen)
      - id: iyad-ag-ghaly            # stable id, as for groups
        name: Iyad Ag Ghaly          # the canonical name every article's PERSON entity gets
        groups: [jnim]               # optional ids of the groups the person leads or speaks for
        aliases: [Iyad ag Ghali, إياد أغ غالي]   # matched like group aliases (Arabic prefixes included)

Forms may be in any script; the region's groups are listed in Latin (English and French) and Arabic script.
``load_watchlist`` rejects files it cannot interpret (:class:`WatchlistError`); ``check_watchlist`` reports the
mistakes a file can make while still loading (duplicates, unknown parents, bad Wikidata ids...), and the
script mistakes: a word mixing scripts (a Cyrillic "а" pasted into a Latin name never matches), an Arabic form
listed as case-sensitive (Arabic has no case), an Arabic form written with an attached prefix (وال، بال، لل:
the matcher adds those itself, so the listed form would only match after a second prefix), and a group with
no Arabic-script form at all (a warning: the region's press writes in Arabic).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from enrich.errors import WatchlistError
from enrich.normalize import normalize_form

_WIKIDATA_ID = re.compile(r"Q[1-9][0-9]*")
_GROUP_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_ARABIC_PREFIXED = re.compile("(?:وال|بال|فال|كال|لل)[\u0620-\u064a]")
_KNOWN_KEYS = {"id", "name", "wikidata", "parent", "aliases", "case_sensitive", "ambiguous"}
_PERSON_KEYS = {"id", "name", "wikidata", "groups", "aliases", "case_sensitive", "ambiguous"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedGroup:
    """One tracked group. Every tuple holds match forms as written in the file."""

    id: str
    name: str
    wikidata: str | None = None
    aliases: tuple[str, ...] = ()
    case_sensitive: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()
    parent: str | None = None

    def insensitive_forms(self) -> tuple[str, ...]:
        """The name and the aliases: the forms matched whatever their case."""
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedPerson:
    """One tracked person: found by the same matcher as the groups (enrich.gazetteer), in every script listed;
    every mention becomes a PERSON entity named ``name``, whatever form the article used."""

    id: str
    name: str
    wikidata: str | None = None
    aliases: tuple[str, ...] = ()
    case_sensitive: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def insensitive_forms(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class Watchlist:
    groups: tuple[TrackedGroup, ...]
    source: str = "<memory>"
    people: tuple[TrackedPerson, ...] = ()
    _by_id: dict[str, TrackedGroup] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the first group wins on a duplicate id; check_watchlist reports the duplicate
        by_id: dict[str, TrackedGroup] = {}
        for group in self.groups:
            by_id.setdefault(group.id, group)
        object.__setattr__(self, "_by_id", by_id)

    def __iter__(self) -> Iterator[TrackedGroup]:
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def get(self, group_id: str) -> TrackedGroup | None:
        return self._by_id.get(group_id)

    def person(self, person_id: str) -> TrackedPerson | None:
        return next((p for p in self.people if p.id == person_id), None)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with a watchlist. Errors make ``watchlist check`` fail; warnings do not."""

    severity: Literal["error", "warning"]
    group_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.group_id}: {self.message}"


def load_watchlist(path: Path | str) -> Watchlist:
    """Read and parse a watchlist file. Raises :class:`WatchlistError` if it cannot be interpreted."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WatchlistError(f"watchlist file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(f"cannot read watchlist file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise WatchlistError(f"watchlist file {path} is not valid YAML: {exc}") from exc
    return parse_watchlist(data, source=str(path))


def parse_watchlist(data: Any, *, source: str = "<memory>") -> Watchlist:
    """Build a :class:`Watchlist` from already-parsed YAML data (a mapping with a ``groups`` list)."""
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise WatchlistError(f"{source}: expected a mapping with a 'groups' list")
    groups = tuple(_parse_group(item, index, source) for index, item in enumerate(data["groups"]))
    people_data = data.get("people") or []
    if not isinstance(people_data, list):
        raise WatchlistError(f"{source}: 'people' must be a list")
    people = tuple(_parse_person(item, index, source) for index, item in enumerate(people_data))
    return Watchlist(groups, source=source, people=people)


def _check_entry(item: Any, where: str, allowed: set[str]) -> None:
    """A watchlist entry is a mapping of known keys (a typo must not silently drop an alias list)."""
    if not isinstance(item, dict):
        raise WatchlistError(f"{where}: expected a mapping, got {type(item).__name__}")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise WatchlistError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")


def _parse_person(item: Any, index: int, source: str) -> TrackedPerson:
    where = f"{source}: people[{index}]"
    _check_entry(item, where, _PERSON_KEYS)
    return TrackedPerson(
        id=_text(item.get("id"), f"{where}.id", required=True) or "",
        name=_text(item.get("name"), f"{where}.name", required=True) or "",
        wikidata=_text(item.get("wikidata"), f"{where}.wikidata", required=False) or None,
        groups=_forms(item.get("groups"), f"{where}.groups"),
        aliases=_forms(item.get("aliases"), f"{where}.aliases"),
        case_sensitive=_forms(item.get("case_sensitive"), f"{where}.case_sensitive"),
        ambiguous=_forms(item.get("ambiguous"), f"{where}.ambiguous"),
    )


def _parse_group(item: Any, index: int, source: str) -> TrackedGroup:
    where = f"{source}: groups[{index}]"
    _check_entry(item, where, _KNOWN_KEYS)
    return TrackedGroup(
        id=_text(item.get("id"), f"{where}.id", required=True) or "",
        name=_text(item.get("name"), f"{where}.name", required=False) or "",
        wikidata=_text(item.get("wikidata"), f"{where}.wikidata", required=False) or None,
        parent=_text(item.get("parent"), f"{where}.parent", required=False) or None,
        aliases=_forms(item.get("aliases"), f"{where}.aliases"),
        case_sensitive=_forms(item.get("case_sensitive"), f"{where}.case_sensitive"),
        ambiguous=_forms(item.get("ambiguous"), f"{where}.ambiguous"),
    )


def _text(value: Any, where: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise WatchlistError(f"{where} is required")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise WatchlistError(f"{where}: expected text, got {type(value).__name__}")
    return str(value).strip()


def _forms(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WatchlistError(f"{where}: expected a list of strings")
    return tuple(v.strip() for v in value)


def check_watchlist(wl: Watchlist) -> list[Problem]:
    """Every problem of ``wl``: errors first, in file order."""
    problems: list[Problem] = []
    for group in wl.groups:
        problems.extend(_check_group(group, wl))
    for person in wl.people:
        problems.extend(_check_person(person, wl))
    problems.extend(_duplicate_ids(wl))
    problems.extend(_duplicate_forms(wl))
    problems.extend(_parent_cycles(wl))
    return sorted(problems, key=lambda p: p.severity != "error")


def _check_group(group: TrackedGroup, wl: Watchlist) -> Iterator[Problem]:
    gid = group.id or "<no id>"
    if not _GROUP_ID.fullmatch(group.id):
        yield Problem("error", gid, "id must be lower-case letters, digits and hyphens")
    if not group.name:
        yield Problem("error", gid, "name is empty")
    if group.wikidata is not None and not _WIKIDATA_ID.fullmatch(group.wikidata):
        yield Problem("error", gid, f"wikidata {group.wikidata!r} is not a Wikidata id (Q followed by digits)")
    if group.parent is not None and wl.get(group.parent) is None:
        yield Problem("error", gid, f"parent {group.parent!r} is not a group of this watchlist")
    if group.parent == group.id:
        yield Problem("error", gid, "a group cannot be its own parent")
    for form in (*group.aliases, *group.case_sensitive, *group.ambiguous):
        if not normalize_form(form):
            yield Problem("error", gid, f"form {form!r} is empty once normalised")
    for form in group.aliases:
        key = normalize_form(form)
        if 0 < len(key) < 3:
            yield Problem("warning", gid, f"alias {form!r} is very short: list it under case_sensitive")
    yield from _check_scripts(group)
    if group.wikidata is None:
        yield Problem("warning", gid, "no Wikidata id")


def _check_person(person: TrackedPerson, wl: Watchlist) -> Iterator[Problem]:
    pid = person.id or "<no id>"
    if not _GROUP_ID.fullmatch(person.id):
        yield Problem("error", pid, "id must be lower-case letters, digits and hyphens")
    if wl.get(person.id) is not None or sum(p.id == person.id for p in wl.people) > 1:
        yield Problem("error", pid, "id is used by a group or another person")
    if person.wikidata is not None and not _WIKIDATA_ID.fullmatch(person.wikidata):
        yield Problem("error", pid, f"wikidata {person.wikidata!r} is not a Wikidata id (Q followed by digits)")
    for group_id in person.groups:
        if wl.get(group_id) is None:
            yield Problem("error", pid, f"group {group_id!r} is not a group of this watchlist")
    for form in (*person.aliases, *person.case_sensitive, *person.ambiguous):
        if not normalize_form(form):
            yield Problem("error", pid, f"form {form!r} is empty once normalised")
    yield from _check_scripts(person)


def script_of(char: str) -> str:
    """The script of a letter as its Unicode name starts ("LATIN", "ARABIC", "CYRILLIC"...)."""
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def _scripts(text: str) -> set[str]:
    return {script_of(c) for c in text if c.isalpha()}


def _check_scripts(group: TrackedGroup | TrackedPerson) -> Iterator[Problem]:
    gid = group.id or "<no id>"
    forms = (group.name, *group.aliases, *group.case_sensitive, *group.ambiguous)
    for form in forms:
        mixed = [word for word in form.split() if len(_scripts(word)) > 1]
        if mixed:
            scripts = " and ".join(sorted(_scripts(mixed[0])))
            yield Problem("error", gid, f"form {form!r}: {mixed[0]!r} mixes {scripts} letters (a look-alike?)")
    for form in group.case_sensitive:
        if "ARABIC" in _scripts(form):
            yield Problem("error", gid, f"form {form!r}: Arabic script has no case; list it under aliases")
    for form in (*group.aliases, *group.ambiguous):
        if _ARABIC_PREFIXED.match(normalize_form(form)):
            yield Problem(
                "warning", gid, f"form {form!r} starts with an attached prefix, which is matched anyway: list it bare"
            )
    if not any("ARABIC" in _scripts(form) for form in forms):
        yield Problem("warning", gid, "no Arabic-script form")


def _duplicate_ids(wl: Watchlist) -> Iterator[Problem]:
    seen: set[str] = set()
    for group in wl.groups:
        if group.id in seen:
            yield Problem("error", group.id, "id is used by more than one group")
        seen.add(group.id)


def _duplicate_forms(wl: Watchlist) -> Iterator[Problem]:
    """The same form (after normalisation) listed by two groups: a match could not tell them apart."""
    owners: dict[tuple[bool, str], str] = {}
    for group in wl.groups:
        keys = {(True, normalize_form(f)) for f in group.insensitive_forms()}
        keys |= {(False, normalize_form(f, fold=False)) for f in (*group.case_sensitive, *group.ambiguous)}
        for key in sorted(keys):
            if not key[1]:
                continue
            owner = owners.setdefault(key, group.id)
            if owner != group.id:
                yield Problem("error", group.id, f"form {key[1]!r} is also a form of {owner!r}")


def _parent_cycles(wl: Watchlist) -> Iterator[Problem]:
    for group in wl.groups:
        seen = {group.id}
        parent = wl.get(group.parent) if group.parent else None
        while parent is not None and parent.parent:
            if parent.parent in seen:
                yield Problem("error", group.id, f"parent chain loops back through {parent.parent!r}")
                break
            seen.add(parent.id)
            parent = wl.get(parent.parent)
