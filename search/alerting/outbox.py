"""The outbox side of alerts: which (alert, channel) pairs are due, and recording what delivery did.

Each alert holds ``deliveries``: one entry per channel with ``state`` (pending, sending, delivered, failed, or
unconfigured: its channel is missing from the configuration), ``attempts`` (all passes), ``delivered_at``,
``last_error``, ``next_attempt_at``. Recording is a
compare-and-set on the alert's ``_seq_no`` (the local node has no scripting), retried on conflict; a
delivered entry is never turned back into pending, so two overlapping passes cannot undo a delivery.

Before sending, a runner claims each (alert, channel) it means to send (``claim_deliveries``): the entry
becomes ``sending`` with ``claimed_by`` and ``claim_expires_at``, written with the same compare-and-set, so of
two runners that read the same pending entry exactly one gets it and no email or Slack message goes out
twice. A runner that dies while sending leaves the claim behind; once it lapses the entry is due again (the
message may then go out a second time, as after any crash between a send and its record: webhooks carry the
alert id as idempotency key for that).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from elasticsearch import Elasticsearch
from elasticsearch.helpers import BulkIndexError, bulk

from search.client import es_errors
from search.errors import SearchError, SearchUnavailable
from search.names import IndexNames

_CAS_ROUNDS = 5


class OutcomeLike(Protocol):
    """What ``record_deliveries`` reads from each outcome (``notify.DeliveryOutcome`` fits)."""

    @property
    def alert_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def delivered_at(self) -> datetime | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...


def pending_deliveries(
    es: Elasticsearch,
    names: IndexNames,
    *,
    now: datetime | None = None,
    limit: int = 500,
    channels: Collection[str] | None = None,
    exclude: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Alert documents with at least one channel pending and due at ``now``, or ``unconfigured`` on one of
    ``channels`` (a channel configured again). Pending deliveries on ``exclude`` (scheduled digest channels,
    sent by ``search.alerting.digests`` when due) do not count, so they never crowd the batch. Never-tried
    deliveries come first, then those due the longest: every delivery this returns and that is not delivered
    gets a later ``next_attempt_at`` (or a non-due state), so it moves behind the others and no set of stuck
    alerts can fill every batch."""
    due = _due_query(now or datetime.now(UTC), channels, exclude)
    sort: list[dict[str, Any]] = [
        {"deliveries.next_attempt_at": {
            "order": "asc", "mode": "min", "missing": "_first", "nested": {"path": "deliveries", "filter": due},
        }},
        {"created_at": "asc"},
        {"id": "asc"},
    ]  # fmt: skip
    with es_errors("reading pending deliveries"):
        found = es.search(
            index=names.alerts, query={"nested": {"path": "deliveries", "query": due}}, size=limit, sort=sort
        )
    return [hit["_source"] for hit in found["hits"]["hits"]]


def _due_query(now: datetime, channels: Collection[str] | None, exclude: Collection[str] = ()) -> dict[str, Any]:
    pending_and_due: dict[str, Any] = {
        "bool": {
            "filter": [{"term": {"deliveries.state": "pending"}}],
            "must_not": [{"terms": {"deliveries.channel": sorted(exclude)}}] if exclude else [],
            "should": [
                {"bool": {"must_not": [{"exists": {"field": "deliveries.next_attempt_at"}}]}},
                {"range": {"deliveries.next_attempt_at": {"lte": now.isoformat()}}},
            ],
            "minimum_should_match": 1,
        }
    }
    lapsed_claim = {
        "bool": {
            "filter": [
                {"term": {"deliveries.state": "sending"}},
                {"range": {"deliveries.claim_expires_at": {"lte": now.isoformat()}}},
            ]
        }
    }
    due: dict[str, Any] = {"bool": {"should": [pending_and_due, lapsed_claim], "minimum_should_match": 1}}
    if not channels:
        return due
    configured_again = {
        "bool": {
            "filter": [
                {"term": {"deliveries.state": "unconfigured"}},
                {"terms": {"deliveries.channel": sorted(channels)}},
            ]
        }
    }
    return {"bool": {"should": [pending_and_due, lapsed_claim, configured_again], "minimum_should_match": 1}}


def next_due_at(
    es: Elasticsearch, names: IndexNames, *, now: datetime, exclude: Collection[str] = ()
) -> datetime | None:
    """When the outbox next has something due: the earliest retry of a pending delivery (``now`` for one never
    tried) or lapse of a claim (a runner that died while sending); None when nothing waits. Pending deliveries
    on ``exclude`` (scheduled digest channels) do not count: their digest's schedule says when."""
    skip = [{"terms": {"deliveries.channel": sorted(exclude)}}] if exclude else []
    pending = {"bool": {"filter": [{"term": {"deliveries.state": "pending"}}], "must_not": skip}}
    aggs = {
        "d": {
            "nested": {"path": "deliveries"},
            "aggs": {
                "pending": {
                    "filter": pending,
                    "aggs": {
                        "retry": {"min": {"field": "deliveries.next_attempt_at"}},
                        "untried": {"missing": {"field": "deliveries.next_attempt_at"}},
                    },
                },
                "sending": {
                    "filter": {"term": {"deliveries.state": "sending"}},
                    "aggs": {"lapse": {"min": {"field": "deliveries.claim_expires_at"}}},
                },
            },
        }
    }
    with es_errors("reading when the outbox is next due"):
        found = es.search(index=names.alerts, size=0, aggs=aggs, track_total_hits=False)
    d = found["aggregations"]["d"]
    if d["pending"]["untried"]["doc_count"]:
        return now
    moments = [d["pending"]["retry"].get("value"), d["sending"]["lapse"].get("value")]
    due = [datetime.fromtimestamp(m / 1000, UTC) for m in moments if m is not None]
    return min(due) if due else None


@dataclass(kw_only=True)
class ClaimReport:
    claimed: list[dict[str, Any]] = field(default_factory=list)  # alert sources holding this owner's claims
    pairs: int = 0  # (alert, channel) pairs claimed
    elsewhere: int = 0  # pairs that were due when read but another runner claimed or settled first


def claimable(
    entry: dict[str, Any], now: datetime, channels: Collection[str] | None = None, exclude: Collection[str] = ()
) -> bool:
    """Whether a runner may claim this delivery entry now: pending and due, sending with a lapsed claim
    (its runner died), or unconfigured on a channel that is configured again; never on an ``exclude`` channel
    (scheduled digests claim theirs themselves)."""
    if entry.get("channel") in exclude:
        return False
    state = entry.get("state")
    if state == "pending":
        due_at = entry.get("next_attempt_at")
        return not due_at or _parse(due_at) <= now
    if state == "sending":
        lapses = entry.get("claim_expires_at")
        return not lapses or _parse(lapses) <= now
    return state == "unconfigured" and channels is not None and entry.get("channel") in channels


def claim_deliveries(
    es: Elasticsearch,
    names: IndexNames,
    docs: Iterable[dict[str, Any]],
    *,
    owner: str,
    ttl_s: float,
    now: datetime | None = None,
    channels: Collection[str] | None = None,
    exclude: Collection[str] = (),
) -> ClaimReport:
    """Claim every claimable delivery of the alerts in ``docs`` (as read by ``pending_deliveries``) for
    ``owner`` until ``now + ttl_s``; only the claimed entries may be sent. Each alert is re-read and written
    back with its ``_seq_no``: a conflict means another runner changed it, so it is read and judged again."""
    now = now or datetime.now(UTC)
    report = ClaimReport()
    wanted = {str(d["id"]): sum(claimable(e, now, channels, exclude) for e in d.get("deliveries") or ()) for d in docs}
    claim = {"state": "sending", "claimed_by": owner, "updated_at": now.isoformat(),
             "claim_expires_at": (now + timedelta(seconds=ttl_s)).isoformat()}  # fmt: skip
    todo = [aid for aid, count in wanted.items() if count]
    for _ in range(_CAS_ROUNDS):
        if not todo:
            break
        with es_errors("reading alerts to claim their deliveries"):
            found = es.mget(index=names.alerts, ids=todo)["docs"]
        actions, sources, counts = [], {}, {}
        for doc in found:
            source = doc.get("_source") if doc.get("found") else None
            entries = [e for e in (source or {}).get("deliveries") or () if claimable(e, now, channels, exclude)]
            if source is None or not entries:
                continue
            for entry in entries:
                entry.update(claim)
            sources[doc["_id"]], counts[doc["_id"]] = source, len(entries)
            actions.append({
                "_op_type": "index", "_index": names.alerts, "_id": doc["_id"], "_source": source,
                "if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"],
            })  # fmt: skip
        written, todo = _cas_bulk(es, actions, "claiming deliveries", refresh=False)
        for aid in written:
            report.claimed.append(sources[aid])
            report.pairs += counts[aid]
    report.elsewhere = max(0, sum(wanted.values()) - report.pairs)
    return report


def record_deliveries(
    es: Elasticsearch,
    names: IndexNames,
    outcomes: Iterable[OutcomeLike],
    *,
    now: datetime | None = None,
    owner: str | None = None,
) -> int:
    """Write each outcome into its alert's delivery entry; returns the number of alerts changed.

    ``owner``: the runner that claimed these deliveries. An entry another runner claimed since (this one's
    claim lapsed) keeps that claim unless this outcome is a delivery."""
    stamp = (now or datetime.now(UTC)).isoformat()
    by_alert: dict[str, list[OutcomeLike]] = {}
    for outcome in outcomes:
        by_alert.setdefault(outcome.alert_id, []).append(outcome)
    changed = 0
    todo = dict(by_alert)
    for _ in range(_CAS_ROUNDS):
        if not todo:
            return changed
        written, conflicted = _write_round(es, names, todo, stamp, owner)
        changed += written
        todo = {aid: todo[aid] for aid in conflicted}
    raise SearchUnavailable(f"{len(todo)} alert(s) kept changing while recording deliveries")


def _write_round(
    es: Elasticsearch, names: IndexNames, todo: dict[str, list[OutcomeLike]], stamp: str, owner: str | None
) -> tuple[int, list[str]]:
    with es_errors("reading alerts to record deliveries"):
        docs = es.mget(index=names.alerts, ids=list(todo))["docs"]
    actions = []
    for doc in docs:
        if not doc.get("found"):
            continue  # deleted meanwhile (alerts are never deleted by wirewatch): nothing to record
        source = doc["_source"]
        source["deliveries"] = _merged(source.get("deliveries") or [], todo[doc["_id"]], stamp, owner)
        actions.append({
            "_op_type": "index", "_index": names.alerts, "_id": doc["_id"], "_source": source,
            "if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"],
        })  # fmt: skip
    written, conflicted = _cas_bulk(es, actions, "recording deliveries", refresh=True)
    return len(written), conflicted


def _cas_bulk(
    es: Elasticsearch, actions: list[dict[str, Any]], action: str, *, refresh: bool
) -> tuple[list[str], list[str]]:
    """Write guarded ``index`` actions; returns (ids written, ids that conflicted: changed meanwhile)."""
    if not actions:
        return [], []
    conflicted: list[str] = []
    try:
        with es_errors(action):
            bulk(es, actions, refresh=refresh, max_retries=2, initial_backoff=0.2)
    except BulkIndexError as exc:
        for error in exc.errors:
            item = error["index"]
            if item.get("status") != 409:
                raise SearchError(f"{action}: alert {item['_id']} failed: {item.get('error')}") from exc
            conflicted.append(item["_id"])
    return [a["_id"] for a in actions if a["_id"] not in set(conflicted)], conflicted


def _merged(
    entries: list[dict[str, Any]], outcomes: list[OutcomeLike], stamp: str, owner: str | None = None
) -> list[dict[str, Any]]:
    by_channel = {e["channel"]: dict(e) for e in entries}
    for outcome in outcomes:
        entry = by_channel.setdefault(outcome.channel, {"channel": outcome.channel, "state": "pending", "attempts": 0})
        if entry["state"] == "delivered":
            continue  # another pass already delivered it: never undo that
        claimed_elsewhere = entry["state"] == "sending" and entry.get("claimed_by") not in (None, owner)
        if claimed_elsewhere and outcome.state != "delivered":
            continue  # our claim lapsed and another runner is sending it now: its outcome will be recorded
        entry.pop("claimed_by", None)
        entry.pop("claim_expires_at", None)
        entry["attempts"] = int(entry.get("attempts", 0)) + outcome.attempts
        entry["state"] = outcome.state
        entry["updated_at"] = stamp
        if outcome.error:
            entry["last_error"] = outcome.error[:2000]
        if outcome.delivered_at is not None:
            entry["delivered_at"] = outcome.delivered_at.isoformat()
        if outcome.next_attempt_at is not None:
            entry["next_attempt_at"] = outcome.next_attempt_at.isoformat()
        else:
            entry.pop("next_attempt_at", None)
    return list(by_channel.values())


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
