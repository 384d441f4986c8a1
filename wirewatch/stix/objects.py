"""STIX 2.1 objects from Wirewatch's records: a ``report`` per alert or story and what it refers to.

``report_objects`` turns one ``ReportInput`` (an alert with its article, or a story found by a search) into the
report and every object it names: the ``intrusion-set`` of each tracked group (id from the group id; aliases
in every script the watchlist lists; the Wikidata id as an external reference), the ``location`` of each place
STIX can hold (``places.location_from_place``), an ``identity`` per named person and organisation, and an
``intrusion-set targets location`` relationship per group and place. The article is the report's external
reference (URL, source, publication time, language); other sources of the same story follow it.

Events are not exported: Wirewatch does not extract events yet.

Every object is created by Wirewatch's own ``identity`` and carries the TLP marking of its report. Shared
objects (groups, places, people, relationships) carry a fixed ``created``/``modified`` (``SHARED_SINCE``): their
ids are stable, so a platform merges them; a report's ``modified`` moves when its story gains a source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from stix2 import ExternalReference, Identity, IntrusionSet, MarkingDefinition, Relationship, Report

from enrich.watchlist import TrackedGroup
from wirewatch.stix.ids import fold, stix_id
from wirewatch.stix.places import Place, location_from_place

__all__ = ["SHARED_SINCE", "WIREWATCH", "GroupRef", "ReportInput", "intrusion_set", "report_objects"]

SHARED_SINCE = datetime(2024, 1, 1, tzinfo=UTC)
WIREWATCH = Identity(
    id=stix_id("identity", "wirewatch"), name="Wirewatch", identity_class="system",
    description="News monitoring of tracked armed groups", created=SHARED_SINCE, modified=SHARED_SINCE,
)  # fmt: skip
MAX_NAME = 1000  # a hostile title must not make one object megabytes long
MAX_DESCRIPTION = 4000
# Shared objects are built once and reused (a stix2 object costs ~0.5 ms to build and check; a thousand reports
# about the same groups and places name the same few): bounded, so a long export cannot grow it.
SHARED_CACHE = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupRef:
    """A tracked group as a report names it: from the watchlist when it is there, else its id and name only."""

    id: str
    name: str
    wikidata: str | None = None
    aliases: tuple[str, ...] = ()

    @classmethod
    def of(cls, group: TrackedGroup) -> GroupRef:
        forms = dict.fromkeys(f for f in (*group.aliases, *group.case_sensitive) if fold(f) != fold(group.name))
        return cls(id=group.id, name=group.name, wikidata=group.wikidata, aliases=tuple(forms))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInput:
    """What a report is made of. ``key`` names what the report is about (``alert:<id>``, ``story:<id>``)."""

    key: str
    title: str
    url: str
    source: str | None
    published: str | None
    language: str | None
    created: str
    modified: str | None = None
    description: str = ""
    groups: tuple[GroupRef, ...] = ()
    places: tuple[Place, ...] = ()
    people: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    also_seen: tuple[Mapping[str, Any], ...] = field(default=())


def timestamp(value: str | None, default: datetime | None = None) -> datetime:
    """An ISO time from a document as an aware datetime (a naive one is UTC); ``default`` when missing/unreadable."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        parsed = None
    if parsed is None:
        if default is None:
            raise ValueError(f"not an ISO time: {value!r}")
        return default
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shared(marking_id: str) -> dict[str, Any]:
    return {"created_by_ref": WIREWATCH.id, "object_marking_refs": [marking_id],
            "created": SHARED_SINCE, "modified": SHARED_SINCE}  # fmt: skip


def intrusion_set(group: GroupRef, marking: MarkingDefinition) -> IntrusionSet:
    """The group's intrusion set: id from the group id, so every report of the group names the same one."""
    return _intrusion_set(group, marking.id)


@lru_cache(maxsize=SHARED_CACHE)
def _intrusion_set(group: GroupRef, marking_id: str) -> IntrusionSet:
    refs = [ExternalReference(source_name="wirewatch", external_id=group.id)]
    if group.wikidata:
        refs.append(ExternalReference(source_name="wikidata", external_id=group.wikidata,
                                      url=f"https://www.wikidata.org/wiki/{group.wikidata}"))  # fmt: skip
    extra: dict[str, Any] = {"aliases": [_cut(a, MAX_NAME) for a in group.aliases]} if group.aliases else {}
    return IntrusionSet(
        id=stix_id("intrusion-set", group.id), name=_cut(group.name or group.id, MAX_NAME),
        external_references=refs, **extra, **_shared(marking_id),
    )  # fmt: skip


@lru_cache(maxsize=SHARED_CACHE)
def _identity(name: str, identity_class: str, marking_id: str) -> Identity:
    return Identity(
        id=stix_id("identity", identity_class, fold(name)), name=_cut(name, MAX_NAME), identity_class=identity_class,
        **_shared(marking_id),
    )  # fmt: skip


def _article_reference(inp: ReportInput) -> ExternalReference:
    parts = [f"published {inp.published}" if inp.published else "publication time unknown"]
    if inp.language:
        parts.append(f"language {inp.language}")
    props: dict[str, Any] = {"source_name": _cut(inp.source or "unknown source", MAX_NAME),
                             "description": _cut("; ".join(parts), MAX_NAME)}  # fmt: skip
    if _web_link(inp.url):
        props["url"] = inp.url  # a javascript: or data: link from a hostile page is never handed on
    return ExternalReference(**props)


def _web_link(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


def _copy_references(also_seen: Iterable[Mapping[str, Any]]) -> list[ExternalReference]:
    refs = []
    for copy in also_seen:
        url = str(copy.get("url") or "")
        if _web_link(url):
            source = _cut(str(copy.get("source") or "unknown source"), MAX_NAME)
            refs.append(ExternalReference(source_name=source, url=url, description="same story, another source"))
    return refs


def report_objects(inp: ReportInput, marking: MarkingDefinition) -> list[Any]:
    """The report for ``inp`` last, after every object it refers to (so a streamed bundle reads in order)."""
    sets = [intrusion_set(group, marking) for group in inp.groups]
    locations = [loc for place in inp.places if (loc := _location(place, marking.id))]
    group_names = {fold(f) for g in inp.groups for f in (g.name, g.id, *g.aliases)}
    people = [_identity(n, "individual", marking.id) for n in _unique(inp.people)]
    orgs = [_identity(n, "organization", marking.id) for n in _unique(inp.organisations) if fold(n) not in group_names]
    targets = [_targets(s.id, loc.id, marking.id) for s in sets for loc in locations]
    named = [*sets, *locations, *people, *orgs, *targets]
    created = timestamp(inp.created)
    modified = max(created, timestamp(inp.modified, created))
    report = Report(
        id=stix_id("report", inp.key), name=_cut(inp.title.strip() or "(untitled article)", MAX_NAME),
        description=_cut(inp.description, MAX_DESCRIPTION) or None, report_types=["threat-report"],
        published=timestamp(inp.published, created), object_refs=[o.id for o in named] or [WIREWATCH.id],
        external_references=[_article_reference(inp), *_copy_references(inp.also_seen)],
        lang=inp.language or None, created_by_ref=WIREWATCH.id, object_marking_refs=[marking.id],
        created=created, modified=modified, allow_custom=False,
    )  # fmt: skip
    return [*named, report]


@lru_cache(maxsize=SHARED_CACHE)
def _location(place: Place, marking_id: str) -> Any:
    return location_from_place(place, **_shared(marking_id))


@lru_cache(maxsize=SHARED_CACHE)
def _targets(source: str, target: str, marking_id: str) -> Relationship:
    return Relationship(
        id=stix_id("relationship", source, "targets", target), relationship_type="targets", source_ref=source,
        target_ref=target, **_shared(marking_id),
    )  # fmt: skip


def _unique(names: Sequence[str]) -> list[str]:
    return list({fold(n): n.strip() for n in names if n and n.strip()}.values())
