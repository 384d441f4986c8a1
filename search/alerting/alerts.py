"""Alerts: one document per (watch, story), created exactly once; the outbox the delivery step drains.

``_id`` = ``alert_id(watch, story)`` (the story is the article's ``story_id``, search/stories.py; an article
without one is its own story, so the id is then the old (watch, article) one), written with
``op_type=create``: a conflict means the alert already exists, so re-ingesting, re-tagging or re-matching an
article never alerts twice. A later copy of the story (another article with the same ``story_id``) raises no
alert and no delivery: it is listed in the alert's ``also_seen`` (source, url, time). A copy of the same story
(same ``content_hash``) from another source, for the same watch and within ``dedup_window_s`` of the first
alert, does not raise a new alert: it is written as a small document pointing at the first one
(``attached_to``, so it too exists exactly once) and listed in the first alert's ``also_seen``.

Delivery state lives in the alert (``deliveries``, one entry per channel): see ``search.alerting.outbox``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from elasticsearch import ConflictError, Elasticsearch

from search.alerting.inbox import StateFilter, alert_page
from search.alerting.matching import Match
from search.alerting.outbox import pending_deliveries, record_deliveries
from search.client import RETRY_ON_STATUS, es_errors
from search.errors import SearchUnavailable
from search.names import IndexNames

__all__ = [
    "CreateReport",
    "CreationClaim",
    "add_also_seen",
    "alert_id",
    "create_alerts",
    "existing_alert_ids",
    "list_alerts",
    "pending_deliveries",
    "record_deliveries",
]

MAX_ALSO_SEEN = 100  # a story syndicated everywhere must not grow one document without bound
_CAS_TRIES = 5


def alert_id(watch_id: str, article_id: str) -> str:
    """A stable hash of (watch, article): the alert's ``_id``."""
    return hashlib.sha256(f"{watch_id}\x1f{article_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True, kw_only=True)
class CreationClaim:
    """Deliveries claimed in the alert's own create, for a runner that sends them itself at once: no outbox
    search, no claim round trip. Only ``channels`` (the runner's immediate ones) are claimed; the others
    (scheduled digests, unknown channels) stay pending for the outbox. If the runner dies the claim lapses
    after ``ttl_s`` and any runner sends it, as with a claim written later."""

    owner: str
    ttl_s: float
    channels: frozenset[str]


@dataclass(kw_only=True)
class CreateReport:
    created: list[str] = field(default_factory=list)  # new alerts, undelivered
    claimed: list[dict[str, Any]] = field(default_factory=list)  # sources of new alerts with claimed deliveries
    existing: int = 0  # already there (a re-match): not an error
    attached: list[str] = field(default_factory=list)  # copies joined to an earlier alert
    failed: dict[str, str] = field(default_factory=dict)  # alert id -> reason (mapping errors)
    refused: list[str] = field(default_factory=list)  # article ids the node refused to match (429): match again
    too_old: list[str] = field(default_factory=list)  # article ids published too long before their fetch

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "existing": self.existing,
            "attached": len(self.attached),
            "failed": self.failed,
            "refused": len(self.refused),
            "too_old": len(self.too_old),
        }


def create_alerts(
    es: Elasticsearch,
    names: IndexNames,
    matches: Sequence[Match],
    *,
    dedup_window_s: float = 48 * 3600,
    max_age_s: float | None = None,
    now: datetime | None = None,
    claim: CreationClaim | None = None,
) -> CreateReport:
    """Create the alerts for ``matches`` (undelivered, one pending delivery per watch channel; with ``claim``,
    its channels' deliveries are created claimed and the new alerts listed in ``claimed``). A match whose
    article was published more than ``max_age_s`` before its fetch raises nothing (``too_old``): a feed's
    first pass brings years of back issues, which are worth indexing but not worth waking anyone for.

    Raises SearchUnavailable when Elasticsearch is unreachable or overloaded for any of them: the caller
    keeps its checkpoint and matches again later (alerts created meanwhile are then counted as existing).
    """
    now = now or datetime.now(UTC)
    report = CreateReport()
    matches, report.too_old = split_too_old(matches, max_age_s, now)
    stories = group_by_story(matches)  # one alert per (watch, story); its later copies only attach
    unique = [(aid, first) for aid, (first, _) in stories.items()]
    if not unique:
        return report
    earlier = _earlier_alerts(es, names, [m for _, m in unique], now - timedelta(seconds=dedup_window_s))
    docs: list[tuple[str, dict[str, Any]]] = []
    copies: dict[str, str] = {}  # copy alert id -> first alert id
    for aid, match in unique:
        key = (match.watch_id, match.content_hash)
        first = earlier.get(key) if match.content_hash else None
        if first is not None and first[1] != match.article_id:
            copies[aid] = first[0]
            docs.append((aid, _copy_doc(aid, match, first[0], now)))
        else:
            if match.content_hash:  # later copies in this same batch join this one
                earlier.setdefault(key, (aid, match.article_id))
            docs.append((aid, _alert_doc(aid, match, now, claim)))
    create_alert_docs(es, names, docs, report)
    if claim is not None:
        created = set(report.created) - set(copies)
        report.claimed = [doc for aid, doc in docs if aid in created and _holds_claim(doc, claim)]
    for aid in [a for a in report.created if a in copies]:
        report.created.remove(aid)
        report.attached.append(aid)
        match = dict(unique)[aid]
        _add_also_seen(es, names, copies[aid], match, now)
    _attach_story_copies(es, names, stories, report, skip=set(copies), now=now)
    return report


def split_too_old(matches: Sequence[Match], max_age_s: float | None, now: datetime) -> tuple[list[Match], list[str]]:
    """(the matches to alert on, the ids of the articles published more than ``max_age_s`` before their fetch
    (or before ``now`` when the fetch time is unknown)). No bound when ``max_age_s`` is None or 0; an article
    without a publication date is alerted on (its age is unknown, not old)."""
    if not max_age_s:
        return list(matches), []
    fresh: list[Match] = []
    old: dict[str, None] = {}
    for match in matches:
        published = _instant(match.published_at)
        fetched = _instant(match.fetched_at) or now
        if published is not None and (fetched - published).total_seconds() > max_age_s:
            old[match.article_id] = None
        else:
            fresh.append(match)
    return fresh, list(old)


def _instant(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def story_key(match: Match) -> str:
    """What an alert is about: the match's story, or its article when it has none."""
    return match.story_id or match.article_id


def group_by_story(matches: Sequence[Match]) -> dict[str, tuple[Match, list[Match]]]:
    """{alert id: (the match the alert is created from, the story's other matches)}. The first is the
    story's own first article when it matched, else the earliest published, so re-runs pick the same one."""
    by_alert: dict[str, list[Match]] = {}
    for match in matches:
        by_alert.setdefault(alert_id(match.watch_id, story_key(match)), []).append(match)
    out: dict[str, tuple[Match, list[Match]]] = {}
    for aid, group in by_alert.items():
        distinct = list({m.article_id: m for m in group}.values())
        distinct.sort(key=lambda m: (m.article_id != story_key(m), m.published_at or "~", m.article_id))
        out[aid] = (distinct[0], distinct[1:])
    return out


def _attach_story_copies(
    es: Elasticsearch,
    names: IndexNames,
    stories: dict[str, tuple[Match, list[Match]]],
    report: CreateReport,
    *,
    skip: set[str],
    now: datetime,
) -> None:
    """List each later copy in its story alert's ``also_seen`` (no new alert, no new delivery). When the
    alert existed before this call, the match it would have been created from may be a new copy too."""
    created = set(report.created)
    for aid, (first, others) in stories.items():
        if aid in skip or aid in report.failed:
            continue
        for match in others if aid in created else [first, *others]:
            if _add_also_seen(es, names, aid, match, now):
                report.attached.append(match.article_id)


def _earlier_alerts(
    es: Elasticsearch, names: IndexNames, matches: list[Match], since: datetime
) -> dict[tuple[str, str | None], tuple[str, str]]:
    """{(watch id, content hash): (first alert id, its article id)} for alerts inside the window."""
    hashes = sorted({m.content_hash for m in matches if m.content_hash})
    if not hashes:
        return {}
    query = {
        "bool": {
            "filter": [
                {"terms": {"content_hash": hashes}},
                {"terms": {"watch.id": sorted({m.watch_id for m in matches})}},
                {"range": {"created_at": {"gte": since.isoformat()}}},
            ],
            "must_not": [{"exists": {"field": "attached_to"}}],
        }
    }
    with es_errors("looking up earlier alerts of the same story"):
        found = es.search(
            index=names.alerts, query=query, size=10_000, sort=[{"created_at": "asc"}, {"id": "asc"}],
            source_includes=["id", "watch.id", "content_hash", "article_id"],
        )  # fmt: skip
    out: dict[tuple[str, str | None], tuple[str, str]] = {}
    for hit in found["hits"]["hits"]:
        src = hit["_source"]
        out.setdefault((src["watch"]["id"], src["content_hash"]), (src["id"], src["article_id"]))
    return out


def _base_doc(aid: str, match: Match, now: datetime) -> dict[str, Any]:
    return {
        "id": aid,
        "watch": {"id": match.watch_id, "name": match.watch_name, "kind": match.watch_kind},
        "group": {"id": match.group_id, "name": match.group_name} if match.group_id else None,
        "article_id": match.article_id,
        "story_id": story_key(match),
        "title": match.title,
        "url": match.url,
        "source": match.source,
        "published_at": match.published_at,
        "indexed_at": match.indexed_at,
        "content_hash": match.content_hash,
        "surface_forms": list(match.surface_forms),
        "passage": match.passage,
        "created_at": now.isoformat(),
        **({"event": match.event} if match.event else {}),
    }


def _alert_doc(aid: str, match: Match, now: datetime, claim: CreationClaim | None = None) -> dict[str, Any]:
    pending = [{"channel": c, "state": "pending", "attempts": 0} for c in dict.fromkeys(match.channels)]
    if claim is not None:
        lapses = (now + timedelta(seconds=claim.ttl_s)).isoformat()
        for entry in pending:
            if entry["channel"] in claim.channels:
                entry.update(state="sending", claimed_by=claim.owner, claim_expires_at=lapses,
                             updated_at=now.isoformat())  # fmt: skip
    return {**_base_doc(aid, match, now), "also_seen": [], "deliveries": pending}


def _holds_claim(doc: dict[str, Any], claim: CreationClaim) -> bool:
    return any(e.get("claimed_by") == claim.owner for e in doc.get("deliveries") or ())


def _copy_doc(aid: str, match: Match, first_id: str, now: datetime) -> dict[str, Any]:
    return {**_base_doc(aid, match, now), "attached_to": first_id, "deliveries": []}


class CreatedTally(Protocol):
    """What a create-only bulk of alert documents reports into (``CreateReport``, spikes' report)."""

    created: list[str]
    existing: int
    failed: dict[str, str]


def create_alert_docs(
    es: Elasticsearch,
    names: IndexNames,
    docs: list[tuple[str, dict[str, Any]]],
    report: CreatedTally,
    *,
    action: str = "creating alerts",
) -> None:
    """Write alert documents with ``op_type=create`` (invariant 3: a conflict means the alert exists already)
    and tally each: created, existing, failed. Raises SearchUnavailable (with the partial report) when some
    were refused for overload: the caller runs again, and what was created is recognised as existing."""
    operations: list[dict[str, Any]] = []
    for aid, doc in docs:
        operations += [{"create": {"_index": names.alerts, "_id": aid}}, doc]
    # refreshed: the next batch's same-story lookup must see these alerts
    with es_errors(action):
        result = es.bulk(operations=operations, refresh=True)
    overloaded = 0
    for item in result["items"]:
        outcome = item["create"]
        status = int(outcome.get("status", 500))
        if status in (200, 201):
            report.created.append(outcome["_id"])
        elif status == 409:
            report.existing += 1
        elif status in RETRY_ON_STATUS:
            overloaded += 1
        else:
            report.failed[outcome["_id"]] = str(outcome.get("error", {}).get("reason", status))
    if overloaded:
        raise SearchUnavailable(f"Elasticsearch was overloaded for {overloaded} alert(s)", partial=report)


def _add_also_seen(es: Elasticsearch, names: IndexNames, first_id: str, match: Match, now: datetime) -> bool:
    entry = {"article_id": match.article_id, "url": match.url, "source": match.source, "seen_at": now.isoformat()}
    return add_also_seen(es, names, first_id, entry)


def add_also_seen(es: Elasticsearch, names: IndexNames, first_id: str, entry: dict[str, Any]) -> bool:
    """Append a copy (``article_id``, ``url``, ``source``, ``seen_at``) to the first alert's ``also_seen``:
    read, change, write if unchanged since (CAS). False when it is there already (or is the alert's own
    article, or the list is full).

    The local node has no scripting, so this is optimistic concurrency on ``_seq_no``, retried on conflict.
    """
    for _ in range(_CAS_TRIES):
        with es_errors("updating an alert's also_seen"):
            current = es.get(index=names.alerts, id=first_id)
            doc = current["_source"]
            seen = doc.get("also_seen") or []
            if (
                doc.get("article_id") == entry["article_id"]
                or any(s.get("article_id") == entry["article_id"] for s in seen)
                or len(seen) >= MAX_ALSO_SEEN
            ):
                return False
            doc["also_seen"] = [*seen, entry]
            try:
                es.index(
                    index=names.alerts, id=first_id, document=doc, refresh=True,
                    if_seq_no=current["_seq_no"], if_primary_term=current["_primary_term"],
                )  # fmt: skip
                return True
            except ConflictError:
                continue
    raise SearchUnavailable(f"alert {first_id} kept changing while adding a same-story copy to it")


def list_alerts(
    es: Elasticsearch,
    names: IndexNames,
    *,
    since: datetime | None = None,
    watch: str | None = None,
    state: StateFilter | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The first page of ``alert_page`` (search/alerting/inbox.py): alert documents, newest first."""
    return alert_page(es, names, since=since, watch=watch, state=state, limit=limit).alerts


def existing_alert_ids(es: Elasticsearch, names: IndexNames, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` already exist as alerts (so ``watch test`` can say what was already raised)."""
    if not ids:
        return set()
    with es_errors("checking existing alerts"):
        found = es.mget(index=names.alerts, ids=list(ids), source=False)
    return {doc["_id"] for doc in found["docs"] if doc.get("found")}


def would_raise(
    es: Elasticsearch, names: IndexNames, matches: Sequence[Match], *, max_age_s: float | None = None
) -> list[dict[str, Any]]:
    """What alerts ``matches`` (of one watch, over the history) stand for: one row per story, as a pass would
    raise them, with the story's other matching copies counted, whether the alert exists already and whether
    the article is ``too_old`` to raise one (published more than ``max_age_s`` before its fetch: a backfill).

    ``watch test`` and the workbench's preview show these rows; the shape is the CLI's ``--json``."""
    stories = group_by_story(matches)
    alerted = existing_alert_ids(es, names, list(stories))
    old = set(split_too_old(matches, max_age_s, datetime.now(UTC))[1])
    return [
        {
            "article_id": first.article_id, "story_id": story_key(first), "title": first.title, "url": first.url,
            "source": first.source, "published_at": first.published_at, "surface_forms": list(first.surface_forms),
            "passage": first.passage, "copies": 1 + len(others), "already_alerted": aid in alerted,
            "too_old": first.article_id in old,
        }
        for aid, (first, others) in stories.items()
    ]  # fmt: skip
