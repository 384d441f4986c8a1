"""Fielded terms of the query language: ``group:aqim``, ``lang:fr``, ``source:ID``, ``entity:PERSON:"Name"``,
``place:gn:2457163``, ``country:ML``, ``event:abduction``, ``published:>=2026-11-01``, ``published:>7d``.

Each compiles to a filter on a stored article field (no scoring, so a field narrows like the search form's
filters do, and the same text gives the same query in a search, a preview and a watch). Field names are read
ignoring case (``Group:`` is ``group:``; ``language:`` is ``lang:``); an unknown one is a syntax error that lists
the fields, never a term that silently matches nothing. A group is resolved by the ``resolve_group`` function
the caller passes (an id, name or alias of the watchlist -> its id): the search stage does not read the watchlist.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from search.errors import QuerySyntaxError
from search.mappings import ENTITY_TYPES

# a group id, name or alias -> the group's id, or None when the watchlist has no such group
GroupResolver = Callable[[str], str | None]

FIELDS = ("group", "lang", "source", "entity", "place", "country", "event", "published")
_SYNONYMS = {"language": "lang", "groups": "group", "events": "event", "entities": "entity", "places": "place",
             "date": "published"}  # fmt: skip
FIELDS_HINT = (
    "fields: " + ", ".join(f"{f}:" for f in FIELDS) + ' and near:, e.g. group:aqim lang:fr entity:"Iyad Ag Ghaly"'
)
# a field prefix: letters then ':' (a space may follow: "Group: isis" is group:isis; "10:30" stays a word)
FIELD_START = re.compile(r"([A-Za-z]{2,20}):\s*")
# language names an analyst writes for the codes the articles store
_LANGUAGES = {"english": "en", "french": "fr", "français": "fr", "francais": "fr", "arabic": "ar", "arabe": "ar"}
_LANG_CODE = re.compile(r"[a-z]{2,3}")


def field_name(raw: str, pos: int) -> str:
    """The canonical field for ``raw`` (any case, synonyms); QuerySyntaxError naming the fields otherwise."""
    key = raw.lower()
    key = _SYNONYMS.get(key, key)
    if key not in FIELDS:
        raise QuerySyntaxError(f"unknown field {raw + ':'!r}: {FIELDS_HINT}", pos)
    return key


def field_clause(name: str, value: str, pos: int, resolve_group: GroupResolver | None) -> dict[str, Any]:
    """The filter ``name:value`` stands for, in filter context (it narrows, it does not score)."""
    value = value.strip()
    if not value:
        raise QuerySyntaxError(f"{name}: needs a value: {FIELDS_HINT}", pos)
    clause: dict[str, Any]
    if name == "group":
        clause = {"term": {"group_ids": _group_id(value, pos, resolve_group)}}
    elif name == "lang":
        clause = {"term": {"language": _language(value, pos)}}
    elif name == "source":
        clause = {"term": {"source": value}}
    elif name == "place":
        clause = {"term": {"place_ids": value}}
    elif name == "country":
        clause = {"term": {"place_countries": value.upper()}}
    elif name == "event":
        clause = {"nested": {"path": "events", "query": {"term": {"events.type": value.lower()}}}}
    elif name == "published":
        clause = {"range": {"published_at": published_range(value, pos)}}
    else:
        clause = entity_clause(value)
    # boost 0: a field narrows and never ranks (an article tagged with two of "group:a OR group:b" is no more
    # relevant), so a search with the form's filters ranks as it did when they were filters
    return {"constant_score": {"filter": clause, "boost": 0.0}}


def entity_clause(entity: str) -> dict[str, Any]:
    """``TYPE:Name`` (PERSON:Iyad Ag Ghaly) on that type's names, a bare ``Name`` on any type's canonical name."""
    kind, sep, name = entity.partition(":")
    if sep and kind.upper() in ENTITY_TYPES and name.strip():
        return {"term": {f"entity_names.{kind.lower()}": name.strip()}}
    return {"term": {"entities.canonical": entity.strip()}}


def _language(value: str, pos: int) -> str:
    code = _LANGUAGES.get(value.lower(), value.lower())
    if not _LANG_CODE.fullmatch(code):
        close = difflib.get_close_matches(value.lower(), list(_LANGUAGES), n=1, cutoff=0.6)
        hint = f"did you mean lang:{_LANGUAGES[close[0]]}? " if close else ""
        raise QuerySyntaxError(f"unknown language {value!r}: {hint}write its code, e.g. lang:fr, lang:ar, lang:en", pos)
    return code


# published:OP VALUE, OP one of >= > <= < (none: that day, or since that long ago), VALUE a date, a datetime, or
# an age (7d, 24h, 30m, 2w) counted back from the moment the query runs (a watch's from each match)
_PUBLISHED = re.compile(r"(>=|<=|>|<)?(.+)")
_AGE = re.compile(r"(\d{1,5})([mhdw])")
_RANGE_KEYS = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}
PUBLISHED_HINT = "write published:>=2026-11-01, published:<2026-12-01T12:00:00Z or published:>7d (7d, 24h, 30m, 2w)"


def published_range(value: str, pos: int = 0) -> dict[str, str]:
    """The ``range`` on ``published_at`` a ``published:`` value means. A bare date is a calendar day in UTC
    (``||/d``: ``>2026-11-01`` is after that day, ``<=2026-11-30`` includes it); an age is Elasticsearch date
    math on ``now`` (``>7d``: newer than 7 days); without an operator, a date is that day and an age is
    ``>=``. QuerySyntaxError otherwise, with the accepted forms."""
    found = _PUBLISHED.fullmatch(value.strip())
    op, when = (found.group(1), found.group(2).strip()) if found else (None, "")
    age = _AGE.fullmatch(when)
    if age:
        point = f"now-{age.group(1)}{age.group(2)}"
        return {_RANGE_KEYS[op or ">="]: point}
    point = _date_point(when, value, pos)
    if op is None:
        return {"gte": point, "lte": point} if point.endswith("||/d") else {"gte": point}
    return {_RANGE_KEYS[op]: point}


def _date_point(when: str, value: str, pos: int) -> str:
    try:
        if len(when) == 10:
            return date.fromisoformat(when).isoformat() + "||/d"
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise QuerySyntaxError(f"published: {value!r} is not a date or an age: {PUBLISHED_HINT}", pos) from None
    if moment.tzinfo is None:
        return moment.isoformat() + "Z"  # a datetime without a zone is UTC, as everywhere in the workbench
    return moment.isoformat()


def _group_id(value: str, pos: int, resolve_group: GroupResolver | None) -> str:
    if resolve_group is None:
        return value  # no watchlist here: the value is taken as the id
    found = resolve_group(value)
    if found is None:
        raise QuerySyntaxError(
            f'unknown group {value!r}: use a tracked group\'s id, name or alias (group:aqim, group:"Islamic State")',
            pos,
        )
    return found


# the search form's filters a fielded term can carry, and whether several values mean any of them (or all)
FILTER_FIELDS = {"group": "any", "event": "any", "source": "any", "place": "any", "country": "any", "lang": "any",
                 "entity": "all", "published": "all", "near": "all"}  # fmt: skip


def field_term(name: str, value: str) -> str | None:
    """``name:value`` as query text (the value quoted when it has a space or a bracket; an entity's ``TYPE:``
    stays outside the quotes), or None when a value holds a double quote, which no term can carry."""
    value = value.strip()
    if name == "near":
        return near_term(value)
    if not value or '"' in value:
        return None
    kind, sep, rest = value.partition(":")
    if name == "entity" and sep and kind.upper() in ENTITY_TYPES and rest.strip():
        return f"entity:{kind.upper()}:{_quoted(rest.strip())}"
    return f"{name}:{_quoted(value)}"


def near_term(value: str) -> str | None:
    """A ``near`` form value (``Gao 100km``, ``Bordj Badji Mokhtar 50km``, ``"Bordj Badji Mokhtar" 50km``) as a
    ``near:`` term, the place quoted when it has a space; None without a distance after the place."""
    place, _, distance = value.strip().rpartition(" ")
    place = place.strip()
    if not place or not distance:
        return None
    if place.startswith('"') and place.endswith('"') and place.count('"') == 2:
        return f"near:{place} {distance}"
    return None if '"' in place else f"near:{_quoted(place)} {distance}"


def _quoted(value: str) -> str:
    return f'"{value}"' if any(ch.isspace() or ch in '()"' for ch in value) else value


def with_filters(query: str, filters: dict[str, list[str]]) -> tuple[str, list[str]]:
    """``query`` ANDed with the fielded terms of ``filters`` (FILTER_FIELDS names -> values), and the
    ``name=value`` pairs that could not be written as a term."""
    text, left_out = filter_terms(query, filters)
    return text, [f"{name}={value}" for name, value in left_out]


def filter_terms(query: str, filters: dict[str, list[str]]) -> tuple[str, list[tuple[str, str]]]:
    """:func:`with_filters` with the (name, value) pairs left out as pairs: the search adds them as clauses."""
    parts = [f"({query.strip()})"] if query.strip() else []
    left_out: list[tuple[str, str]] = []
    for name, values in filters.items():
        terms = []
        for value in values:
            term = field_term(name, value)
            if term is None:
                left_out.append((name, value))
            else:
                terms.append(term)
        if FILTER_FIELDS.get(name) == "any" and len(terms) > 1:
            parts.append("(" + " OR ".join(terms) + ")")
        else:
            parts.extend(terms)
    if len(parts) == 1 and parts[0].startswith("(") and query.strip():
        return query.strip(), left_out  # no filter: the query as typed
    return " AND ".join(parts), left_out
