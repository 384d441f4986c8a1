"""Event watches: "any attack or explosion by JNIM in Burkina Faso with at least 5 killed".

Events exist only once the NER phase has run (the writer's matching sees none), so an event watch is not a
query: it holds criteria (``EventCriteria``, stored in the watch's ``query`` as ``{"events": ...}``) that are
checked in memory on the events of one NER update, right after it is written. One event satisfies all of them
together: its type is one of ``types``, one of its actors is one of ``groups``, its place lies in one of
``countries`` (the country of the article's place of the same id), and it states at least ``min_fatalities``
killed (an unstated toll never passes a minimum). Every empty criterion lets anything through.

A match becomes an ordinary ``Match`` carrying the event, so the alert is created by ``create_alerts``: one
per (watch, story), exactly once. The cross-language join sets ``story_id`` in the same NER update, so an
English and a French report of one attack are one alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch

from search.alerting.matching import Match
from search.alerting.watches import Watch, check_watch, query_watch_id
from search.client import es_errors
from search.errors import InvalidWatch, WatchExists
from search.names import IndexNames

_ARTICLE_FIELDS = ["id", "title", "url", "source", "published_at", "fetched_at", "indexed_at", "content_hash",
                   "story_id", "language"]  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class EventCriteria:
    types: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # tracked group ids
    countries: tuple[str, ...] = ()  # ISO 3166 alpha-2 codes, upper case
    min_fatalities: int | None = None

    def to_doc(self) -> dict[str, Any]:
        return {"types": list(self.types), "groups": list(self.groups), "countries": list(self.countries),
                "min_fatalities": self.min_fatalities}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> EventCriteria:
        minimum = doc.get("min_fatalities")
        return cls(
            types=tuple(doc.get("types") or ()), groups=tuple(doc.get("groups") or ()),
            countries=tuple(doc.get("countries") or ()), min_fatalities=None if minimum is None else int(minimum),
        )  # fmt: skip

    def describe(self) -> str:
        """One line for listings: "attack|explosion_remote_violence by jnim in BF, >= 5 killed"."""
        parts = ["|".join(self.types) or "any event"]
        if self.groups:
            parts.append("by " + "|".join(self.groups))
        if self.countries:
            parts.append("in " + "|".join(self.countries))
        text = " ".join(parts)
        return f"{text}, >= {self.min_fatalities} killed" if self.min_fatalities is not None else text

    def accepts(self, event: Mapping[str, Any], countries_of: Mapping[str, str]) -> bool:
        """Whether ``event`` (an article's event dict) meets every criterion; ``countries_of`` maps the
        article's place ids to their countries."""
        if self.types and event.get("type") not in self.types:
            return False
        if self.groups and not set(event.get("actor_ids") or ()) & set(self.groups):
            return False
        if self.countries:
            place_id = (event.get("place") or {}).get("id")
            if not place_id or countries_of.get(place_id) not in self.countries:
                return False
        if self.min_fatalities is not None:
            killed = event.get("fatalities")
            return killed is not None and int(killed) >= self.min_fatalities
        return True


def event_criteria(
    *, types: Sequence[str], groups: Sequence[str], countries: Sequence[str], min_fatalities: int | None,
    known_types: Sequence[str],
) -> EventCriteria:  # fmt: skip
    """Checked criteria; InvalidWatch says which value is wrong. A watch must narrow on something."""
    unknown = [t for t in types if t not in known_types]
    if unknown:
        raise InvalidWatch(f"unknown event type {unknown[0]!r}: one of {', '.join(known_types)}")
    if min_fatalities is not None and min_fatalities < 0:
        raise InvalidWatch("the minimum killed must be 0 or more")
    bad = [c for c in countries if len(c) != 2 or not c.isalpha()]
    if bad:
        raise InvalidWatch(f"country {bad[0]!r} is no two-letter ISO code (BF, ML, NE...)")
    criteria = EventCriteria(
        types=tuple(dict.fromkeys(types)), groups=tuple(dict.fromkeys(groups)),
        countries=tuple(dict.fromkeys(c.upper() for c in countries)), min_fatalities=min_fatalities,
    )  # fmt: skip
    if not (criteria.types or criteria.groups or criteria.countries or criteria.min_fatalities):
        raise InvalidWatch("an event watch needs at least one of a type, a group, a country or a minimum killed")
    return criteria


def add_event_watch(
    es: Elasticsearch,
    names: IndexNames,
    name: str,
    criteria: EventCriteria,
    *,
    channels: Sequence[str],
    now: datetime | None = None,
) -> Watch:
    """Store an event watch (kind "event"); raises InvalidWatch or WatchExists."""
    description = criteria.describe()
    name, unique_channels = check_watch(name, description, channels)
    stamp = (now or datetime.now(UTC)).isoformat()
    watch = Watch(
        id=query_watch_id(name), name=name, kind="event", query={"events": criteria.to_doc()},
        channels=unique_channels, created_at=stamp, query_text=description,
    )  # fmt: skip
    with es_errors(f"storing watch {name!r}"):
        try:
            es.index(index=names.watches, id=watch.id, document=watch.to_doc(), op_type="create", refresh=True)
        except ConflictError as exc:
            raise WatchExists(f"a watch named {name!r} already exists") from exc
    return watch


def matching_events(
    watches: Sequence[Watch], updates: Mapping[str, Mapping[str, Any]]
) -> list[tuple[Watch, str, dict[str, Any]]]:
    """(watch, article id, event) for each enabled event watch and each article of ``updates`` (NER fields by
    article id): the article's first event that meets the watch's criteria (one alert per story anyway)."""
    found: list[tuple[Watch, str, dict[str, Any]]] = []
    for watch in watches:
        if watch.kind != "event" or not watch.enabled:
            continue
        criteria = EventCriteria.from_doc(watch.query.get("events") or {})
        for article_id, fields in updates.items():
            countries_of = {str(p.get("id")): str(p.get("country")) for p in fields.get("places") or ()}
            event = next((e for e in fields.get("events") or () if criteria.accepts(e, countries_of)), None)
            if event is not None:
                found.append((watch, article_id, {**event, "country": countries_of.get(_place_id(event))}))
    return found


def event_matches(
    es: Elasticsearch, names: IndexNames, watches: Sequence[Watch], updates: Mapping[str, Mapping[str, Any]]
) -> list[Match]:
    """The ``Match`` of each (watch, article, event) in ``updates``, for articles indexed after the watch was
    created. One read of the matched articles' own fields; the story is the update's when it set one."""
    found = matching_events(watches, updates)
    if not found:
        return []
    ids = sorted({aid for _, aid, _ in found})
    with es_errors("reading the articles of event matches"):
        docs = es.mget(index=names.articles, ids=ids, source_includes=_ARTICLE_FIELDS)["docs"]
    articles = {d["_id"]: d["_source"] for d in docs if d.get("found")}
    out: list[Match] = []
    for watch, aid, event in found:
        doc = articles.get(aid)
        if doc is None or not _after(doc.get("indexed_at"), watch.created_at):
            continue
        story = updates[aid].get("story_id") or doc.get("story_id")
        out.append(_match(watch, aid, doc, story, event))
    return out


def _after(indexed_at: str | None, created_at: str) -> bool:
    """Whether the article was indexed at or after the watch's creation (a watch alerts on no archive)."""
    if not indexed_at:
        return False
    return _instant(indexed_at) >= _instant(created_at)


def _instant(stamp: str) -> datetime:
    value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _place_id(event: Mapping[str, Any]) -> str:
    return str((event.get("place") or {}).get("id") or "")


def alert_event(event: Mapping[str, Any], language: str | None) -> dict[str, Any]:
    """The event fields an alert carries (its ``event``): what the channels and the inbox show."""
    place = event.get("place") or {}
    actors = [str(a.get("surface") or a.get("id")) for a in event.get("actors") or ()]
    return {
        "type": event.get("type"), "subtype": event.get("subtype"), "actor_ids": list(event.get("actor_ids") or ()),
        "actors": actors, "place": {"id": place.get("id"), "name": place.get("name"), "country": event.get("country")},
        "date": event.get("date"), "fatalities": event.get("fatalities"), "wounded": event.get("wounded"),
        "claim": event.get("claim"), "sentence": str((event.get("sentence") or {}).get("text") or ""),
        "language": language,
    }  # fmt: skip


def _match(watch: Watch, aid: str, doc: Mapping[str, Any], story: str | None, event: Mapping[str, Any]) -> Match:
    carried = alert_event(event, doc.get("language"))
    return Match(
        watch_id=watch.id, watch_name=watch.name, watch_kind=watch.kind, channels=watch.channels,
        group_id=None, group_name=None, article_id=aid, title=str(doc.get("title") or ""),
        url=str(doc.get("url") or ""), source=doc.get("source"), published_at=doc.get("published_at"),
        indexed_at=doc.get("indexed_at"), content_hash=doc.get("content_hash"),
        surface_forms=tuple(carried["actors"]), passage=carried["sentence"], story_id=story,
        fetched_at=doc.get("fetched_at"), event=carried,
    )  # fmt: skip
