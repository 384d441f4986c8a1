"""The values a query's fields may take, checked before a search or a watch runs.

An unknown group, country, source or event type would match nothing, silently; so each is an error at its place
in the query (the caret of the CLI, the ``position`` of the API) that offers the closest known values: "unknown
group 'aqmi': did you mean group:aqim?". The same check runs on the search form's and the CLI's filters, naming
the filter. Groups come from the watchlist (names and aliases in any script), countries from the place table,
event types from the event ontology, sources from the articles indexed (asked for only when a query names one).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch

from enrich.events.ontology import EventType
from enrich.places.table import load_places
from search.client import es_errors
from search.errors import QuerySyntaxError
from search.names import IndexNames
from search.querying.fields import field_clause, field_name
from search.querying.querylang import tokenize
from wirewatch.groupnames import GroupNames
from wirewatch.places import find_place

SUGGESTED = 3


def indexed_sources(es: Elasticsearch, names: IndexNames) -> list[str]:
    """The sources (feed ids) of the indexed articles: what a ``source:`` term may name."""
    with es_errors("listing the articles' sources"):
        found = es.search(
            index=names.articles, size=0, track_total_hits=False,
            aggs={"s": {"terms": {"field": "source", "size": 10_000}}},
        )  # fmt: skip
    return [b["key"] for b in found["aggregations"]["s"]["buckets"]]


@dataclass(frozen=True)
class FieldValues:
    groups: GroupNames
    # the source ids of the indexed articles, read when first needed (one terms aggregation)
    sources: Callable[[], Iterable[str]] = field(compare=False, repr=False)

    def check_query(self, text: str) -> None:
        """QuerySyntaxError at the first field term whose value is unknown (a malformed query raises too)."""
        if not text.strip():
            return
        for token in tokenize(text):
            if token.kind == "FIELD":
                problem = self.problem(token.field, token.value)
                if problem:
                    raise QuerySyntaxError(problem, token.pos)

    def check_filters(self, filters: dict[str, list[str]]) -> tuple[str, str] | None:
        """(field, message) for the first filter value (query-language field names) that cannot be used."""
        for name, values in filters.items():
            for value in values:
                problem = self.problem(name, value)
                if problem:
                    return name, problem
        return None

    def problem(self, name: str, value: str) -> str | None:
        """Why ``name:value`` cannot be searched (a malformed or unknown value), or None."""
        name = field_name(name, 0)
        value = value.strip()
        try:
            field_clause(name, value, 0, self.groups.resolve)  # the stage's own checks (lang, published...)
        except QuerySyntaxError as exc:
            if name != "group":
                return exc.reason
        if name == "group" and self.groups.resolve(value) is None:
            return _unknown("group", value, self.groups.suggest(value), "a tracked group's id, name or alias")
        if name == "country":
            return self._country(value)
        if name == "event" and value.lower() not in set(EventType):
            return _unknown("event", value, _close(value.lower(), list(EventType)), "an event type")
        if name == "source":
            known = set(self.sources())
            if known and value not in known:
                return _unknown("source", value, _close(value, known), "a feed id")
        return None

    def _country(self, value: str) -> str | None:
        codes = load_places().countries
        if value.upper() in codes:
            return None
        place = find_place(value)  # a country's name (Mali, مالي) is a typo of its code
        named = [place.country] if place is not None and place.kind == "country" else []
        return _unknown("country", value, named or _close(value.upper(), codes), "an ISO country code")


def _close(value: str, known: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(value, list(known), n=SUGGESTED, cutoff=0.6)


def _unknown(name: str, value: str, suggestions: list[str], what: str) -> str:
    if suggestions:
        offered = " or ".join(f"{name}:{s}" for s in suggestions)
        return f"unknown {name} {value!r}: did you mean {offered}?"
    return f"unknown {name} {value!r}: write {what}"
