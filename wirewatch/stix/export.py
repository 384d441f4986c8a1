"""Alerts and stories read from Elasticsearch a page at a time and turned into report batches for a bundle.

The TLP marking of a report comes from its watch (``stix_tlp_by_watch``: watch name or id -> level), else the
default (``stix_tlp``, TLP:CLEAR). ``ExportNotes`` collects what an operator should hear about: groups with no
Wikidata id (their intrusion set cannot be matched to other platforms' copies by it) and places left out
(STIX needs a country or coordinates: see ``places``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch
from stix2 import MarkingDefinition

from enrich.watchlist import Watchlist
from search.alerting.scan import AlertFilter, alert_pages, articles_by_id
from search.names import IndexNames
from wirewatch.stix.ids import tlp_marking
from wirewatch.stix.objects import ReportInput, report_objects
from wirewatch.stix.sources import from_alert, from_article

__all__ = ["ExportNotes", "TlpPolicy", "alert_batches", "article_batches"]


@dataclass(frozen=True)
class TlpPolicy:
    """The TLP level per watch (by name or id), and the default. Levels are checked when the policy is made."""

    default: str = "clear"
    by_watch: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for level in (self.default, *self.by_watch.values()):
            tlp_marking(level)  # raises ValueError naming the levels on offer

    def marking(self, watch: Mapping[str, Any] | None = None) -> MarkingDefinition:
        watch = watch or {}
        for key in (watch.get("id"), watch.get("name")):
            if isinstance(key, str) and key in self.by_watch:
                return tlp_marking(self.by_watch[key])
        return tlp_marking(self.default)


@dataclass
class ExportNotes:
    """What the export left out or could not say, for the operator (stderr, logs)."""

    groups_without_wikidata: set[str] = field(default_factory=set)
    places_left_out: int = 0

    def note(self, inp: ReportInput) -> None:
        self.groups_without_wikidata.update(g.id for g in inp.groups if not g.wikidata)
        self.places_left_out += sum(1 for p in inp.places if not p.locatable)

    def lines(self) -> list[str]:
        out = []
        if self.groups_without_wikidata:
            ids = ", ".join(sorted(self.groups_without_wikidata))
            out.append(f"no Wikidata id for: {ids} (add `wikidata:` to the watchlist so platforms can merge them)")
        if self.places_left_out:
            out.append(f"{self.places_left_out} place mention(s) left out: not a country and no coordinates yet")
        return out


def alert_batches(
    es: Elasticsearch,
    names: IndexNames,
    which: AlertFilter,
    watchlist: Watchlist,
    tlp: TlpPolicy,
    *,
    notes: ExportNotes | None = None,
    page_size: int = 200,
) -> Iterator[list[Any]]:
    """One batch of STIX objects per alert (its report last), oldest alert first; one page in memory."""
    for page in alert_pages(es, names, which, size=page_size):
        yield from alerts_to_batches(es, names, page, watchlist, tlp, notes=notes)


def alerts_to_batches(
    es: Elasticsearch,
    names: IndexNames,
    alerts: list[dict[str, Any]],
    watchlist: Watchlist,
    tlp: TlpPolicy,
    *,
    notes: ExportNotes | None = None,
) -> Iterator[list[Any]]:
    """The batches of one page of alert documents (their articles read in one request)."""
    articles = articles_by_id(es, names, [str(a.get("article_id") or "") for a in alerts])
    for alert in alerts:
        inp = from_alert(alert, articles.get(str(alert.get("article_id") or "")), watchlist)
        if notes is not None:
            notes.note(inp)
        yield report_objects(inp, tlp.marking(alert.get("watch")))


def article_batches(
    es: Elasticsearch,
    names: IndexNames,
    id_pages: Iterable[list[str]],
    watchlist: Watchlist,
    marking: MarkingDefinition,
    *,
    notes: ExportNotes | None = None,
) -> Iterator[list[Any]]:
    """One batch per story: ``id_pages`` yields pages of article ids (a search's hits, one per story)."""
    for ids in id_pages:
        articles = articles_by_id(es, names, ids)
        for article_id in ids:
            if article_id in articles:
                inp = from_article(articles[article_id], watchlist)
                if notes is not None:
                    notes.note(inp)
                yield report_objects(inp, marking)
