"""Watches: stored queries that turn new articles into alerts.

The local node has no percolator, so a watch is a plain document in ``names.watches`` holding its compiled
query (stored, not indexed); matching runs the queries against the batch of new articles instead
(``search.alerting.matching``). Two kinds:

- ``group``: one per tracked group of the watchlist, a term query on ``group_ids``; ``sync_group_watches``
  creates, updates and disables them to follow the watchlist on every pass.
- ``query``: an analyst query in the search query language (``search.querying.querylang``), added by name.
- ``event``: criteria on one extracted event (type, group, country, minimum killed), checked after the NER
  phase on its events (``search.alerting.eventwatch``); ``query_text`` describes them.

Watch names are unique regardless of case. A watch alerts only on articles indexed after it was created, so a
watch added today does not flood the channels with the archive (``watch test`` shows the archive instead).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from search.client import es_errors
from search.errors import InvalidWatch, SearchError, WatchExists, WatchNotFound
from search.names import IndexNames
from search.querying.fields import GroupResolver
from search.querying.querylang import PlaceLocator, parse_query

Kind = Literal["group", "query", "event"]
MAX_WATCHES = 10_000  # a listing reads them all in one search; far above any real watch list


@dataclass(frozen=True)
class WatchBounds:
    """What a query watch may hold. Every door that makes one (``wirewatch watch add``, the workbench's form
    and its API) is held to these, through ``check_watch``; the API's schema states them too."""

    name: int = 200  # characters
    query: int = 2000  # characters
    channels: int = 50  # channel names in one watch (each at most ``name`` characters)


WATCH_BOUNDS = WatchBounds()
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_watch(name: str, query_text: str, channels: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The name (stripped) and the channels (repeats dropped) of a new query watch; InvalidWatch when any is
    out of ``WATCH_BOUNDS``. The channels' existence is the caller's to check (it knows the configured ones)."""
    bounds = WATCH_BOUNDS
    name = name.strip()
    if not name:
        raise InvalidWatch("a watch needs a name")
    if len(name) > bounds.name:
        raise InvalidWatch(f"a watch name has at most {bounds.name} characters (this one has {len(name)})")
    if _CONTROL.search(name):
        raise InvalidWatch("a watch name cannot hold control characters (line breaks, tabs...)")
    if not query_text.strip():
        raise InvalidWatch("a watch needs a query")
    if len(query_text) > bounds.query:
        raise InvalidWatch(f"a watch query has at most {bounds.query} characters (this one has {len(query_text)})")
    if len(channels) > bounds.channels:
        raise InvalidWatch(f"a watch names at most {bounds.channels} channels (this one names {len(channels)})")
    if any(not c or len(c) > bounds.name or _CONTROL.search(c) for c in channels):
        raise InvalidWatch(f"a channel name is 1-{bounds.name} characters without control characters")
    return name, tuple(dict.fromkeys(channels))


@dataclass(frozen=True, kw_only=True)
class Watch:
    id: str
    name: str
    kind: Kind
    query: dict[str, Any] = field(repr=False)
    channels: tuple[str, ...] = ()
    created_at: str
    updated_at: str | None = None
    enabled: bool = True
    group_id: str | None = None
    group_name: str | None = None
    query_text: str | None = None
    snoozed_until: str | None = None  # ISO time: the watch raises nothing before it (search/alerting/snooze.py)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_key": self.name.casefold(),
            "kind": self.kind,
            "group_id": self.group_id,
            "group_name": self.group_name,
            "query_text": self.query_text,
            "query": self.query,
            "channels": list(self.channels),
            "created_at": self.created_at,
            "updated_at": self.updated_at or self.created_at,
            "enabled": self.enabled,
            "snoozed_until": self.snoozed_until,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Watch:
        return cls(
            id=doc["id"],
            name=doc["name"],
            kind=doc["kind"],
            query=doc["query"],
            channels=tuple(doc.get("channels") or ()),
            created_at=doc["created_at"],
            updated_at=doc.get("updated_at"),
            enabled=bool(doc.get("enabled", True)),
            group_id=doc.get("group_id"),
            group_name=doc.get("group_name"),
            query_text=doc.get("query_text"),
            snoozed_until=doc.get("snoozed_until"),
        )


@dataclass(frozen=True, kw_only=True)
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    unchanged: int = 0


def _now_iso(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).isoformat()


def group_watch_id(group_id: str) -> str:
    return f"group-{group_id}"


def query_watch_id(name: str) -> str:
    # hashed: a name may hold characters that make awkward ids; casefold makes names unique regardless of case
    return "query-" + hashlib.sha256(name.casefold().encode()).hexdigest()[:20]


def group_query(group_id: str) -> dict[str, Any]:
    return {"term": {"group_ids": group_id}}


def add_query_watch(
    es: Elasticsearch,
    names: IndexNames,
    name: str,
    query_text: str,
    *,
    channels: Sequence[str],
    now: datetime | None = None,
    resolve_group: GroupResolver | None = None,
    locate: PlaceLocator | None = None,
) -> Watch:
    """Compile and store an analyst query watch. Raises InvalidWatch (out of ``WATCH_BOUNDS``),
    QuerySyntaxError (bad query) or WatchExists. ``resolve_group`` turns ``group:`` values into ids (compiled
    now: the stored query filters on the id); ``locate`` turns a ``near:`` place into coordinates (compiled now
    too: matching needs no place table)."""
    name, unique_channels = check_watch(name, query_text, channels)
    query = parse_query(query_text, locate, resolve_group=resolve_group)
    stamp = _now_iso(now)
    watch = Watch(
        id=query_watch_id(name), name=name, kind="query", query=query, channels=unique_channels,
        created_at=stamp, query_text=query_text,
    )  # fmt: skip
    with es_errors(f"storing watch {name!r}"):
        try:
            es.index(
                index=names.watches,
                id=watch.id,
                document=watch.to_doc(),
                op_type="create",
                refresh=True,
            )
        except ConflictError as exc:
            raise WatchExists(f"a watch named {name!r} already exists") from exc
    return watch


def get_watch(es: Elasticsearch, names: IndexNames, name: str) -> Watch:
    """The watch called ``name`` (case-insensitive), query or group watch; raises WatchNotFound."""
    with es_errors(f"reading watch {name!r}"):
        found = es.search(index=names.watches, query={"term": {"name_key": name.strip().casefold()}}, size=1)
    hits = found["hits"]["hits"]
    if not hits:
        raise WatchNotFound(f"no watch named {name!r}")
    return Watch.from_doc(hits[0]["_source"])


def remove_watch(es: Elasticsearch, names: IndexNames, name: str) -> Watch:
    """Delete a query watch; its past alerts stay. Group watches follow the watchlist: not removable."""
    watch = get_watch(es, names, name)
    if watch.kind == "group":
        raise SearchError(f"{watch.name!r} is a group watch: remove the group from the watchlist instead")
    # NotFoundError: removed concurrently, and the outcome asked for holds
    with es_errors(f"removing watch {name!r}"), contextlib.suppress(NotFoundError):
        es.delete(index=names.watches, id=watch.id, refresh=True)
    return watch


def set_watch_enabled(es: Elasticsearch, names: IndexNames, name: str, enabled: bool) -> Watch:
    """Turn a query watch on or off (off: it stays listed, keeps its alerts and raises nothing). Group watches
    follow the watchlist (the next pass would undo the change), so they are refused. Raises WatchNotFound."""
    watch = get_watch(es, names, name)
    if watch.kind == "group":
        raise SearchError(f"{watch.name!r} is a group watch: edit the watchlist instead")
    changed = _replace(watch, enabled=enabled, updated_at=_now_iso(None))
    with es_errors(f"{'enabling' if enabled else 'disabling'} watch {name!r}"):
        es.index(index=names.watches, id=changed.id, document=changed.to_doc(), refresh=True)
    return changed


def list_watches(
    es: Elasticsearch, names: IndexNames, *, kind: Kind | None = None, enabled_only: bool = False
) -> list[Watch]:
    """Every watch, sorted by kind then name."""
    filters: list[dict[str, Any]] = []
    if kind:
        filters.append({"term": {"kind": kind}})
    if enabled_only:
        filters.append({"term": {"enabled": True}})
    with es_errors("listing watches"):
        found = es.search(
            index=names.watches, query={"bool": {"filter": filters}}, size=MAX_WATCHES,
            sort=[{"kind": "asc"}, {"name_key": "asc"}],
        )  # fmt: skip
    return [Watch.from_doc(hit["_source"]) for hit in found["hits"]["hits"]]


def sync_group_watches(
    es: Elasticsearch,
    names: IndexNames,
    groups: Sequence[dict[str, Any]],
    *,
    channels: Sequence[str],
    now: datetime | None = None,
) -> SyncReport:
    """Make the group watches match the watchlist: one enabled watch per group (``{"id", "name"}`` dicts),
    renamed or re-routed when the watchlist or channels changed, disabled (not deleted: alerts keep their
    watch) when a group left the watchlist. Writes only what changed."""
    stamp = _now_iso(now)
    existing = {w.id: w for w in list_watches(es, names, kind="group")}
    report = SyncReport()
    writes: list[Watch] = []
    wanted_ids: set[str] = set()
    for group in groups:
        wid = group_watch_id(str(group["id"]))
        wanted_ids.add(wid)
        old = existing.get(wid)
        new = _group_watch(group, channels, created_at=old.created_at if old else stamp, updated_at=stamp)
        if old is not None and old.snoozed_until:  # a rename or re-route keeps the snooze
            new = _replace(new, snoozed_until=old.snoozed_until)
        if old is None:
            report.created.append(wid)
            writes.append(new)
        elif _differs(old, new):
            report.updated.append(wid)
            writes.append(new)
    for wid, old in existing.items():
        if wid not in wanted_ids and old.enabled:
            report.disabled.append(wid)
            writes.append(_replace(old, enabled=False, updated_at=stamp))
    _write_watches(es, names, writes)
    unchanged = len(existing) - len(report.updated) - len(report.disabled)
    return SyncReport(created=report.created, updated=report.updated, disabled=report.disabled, unchanged=unchanged)


def _group_watch(group: dict[str, Any], channels: Sequence[str], *, created_at: str, updated_at: str) -> Watch:
    group_id, group_name = str(group["id"]), str(group.get("name") or group["id"])
    return Watch(
        id=group_watch_id(group_id), name=group_name, kind="group", query=group_query(group_id),
        channels=tuple(channels), created_at=created_at, updated_at=updated_at, enabled=True,
        group_id=group_id, group_name=group_name,
    )  # fmt: skip


def _differs(old: Watch, new: Watch) -> bool:
    keys = ("name", "query", "channels", "enabled", "group_name")
    return any(getattr(old, k) != getattr(new, k) for k in keys)


def _replace(watch: Watch, **changes: Any) -> Watch:
    return Watch.from_doc({**watch.to_doc(), **changes})


def _write_watches(es: Elasticsearch, names: IndexNames, watches: list[Watch]) -> None:
    if not watches:
        return
    operations: list[dict[str, Any]] = []
    for watch in watches:
        operations += [{"index": {"_index": names.watches, "_id": watch.id}}, watch.to_doc()]
    with es_errors("writing group watches"):
        result = es.bulk(operations=operations, refresh=True)
    if result.get("errors"):
        reasons = {item["index"].get("error", {}).get("reason") for item in result["items"]} - {None}
        raise SearchError(f"writing group watches failed: {'; '.join(sorted(map(str, reasons)))}")
