"""The outbox side of alerts: which (alert, channel) pairs are due, and recording what delivery did.

Each alert holds ``deliveries``: one entry per channel with ``state`` (pending, delivered, failed, or
unconfigured: its channel is missing from the configuration), ``attempts`` (all passes), ``delivered_at``,
``last_error``, ``next_attempt_at``. Recording is a
compare-and-set on the alert's ``_seq_no`` (the local node has no scripting), retried on conflict; a
delivered entry is never turned back into pending, so two overlapping passes cannot undo a delivery.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
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
    if not channels:
        return pending_and_due
    configured_again = {
        "bool": {
            "filter": [
                {"term": {"deliveries.state": "unconfigured"}},
                {"terms": {"deliveries.channel": sorted(channels)}},
            ]
        }
    }
    return {"bool": {"should": [pending_and_due, configured_again], "minimum_should_match": 1}}


def record_deliveries(
    es: Elasticsearch, names: IndexNames, outcomes: Iterable[OutcomeLike], *, now: datetime | None = None
) -> int:
    """Write each outcome into its alert's delivery entry; returns the number of alerts changed."""
    stamp = (now or datetime.now(UTC)).isoformat()
    by_alert: dict[str, list[OutcomeLike]] = {}
    for outcome in outcomes:
        by_alert.setdefault(outcome.alert_id, []).append(outcome)
    changed = 0
    todo = dict(by_alert)
    for _ in range(_CAS_ROUNDS):
        if not todo:
            return changed
        written, conflicted = _write_round(es, names, todo, stamp)
        changed += written
        todo = {aid: todo[aid] for aid in conflicted}
    raise SearchUnavailable(f"{len(todo)} alert(s) kept changing while recording deliveries")


def _write_round(
    es: Elasticsearch, names: IndexNames, todo: dict[str, list[OutcomeLike]], stamp: str
) -> tuple[int, list[str]]:
    with es_errors("reading alerts to record deliveries"):
        docs = es.mget(index=names.alerts, ids=list(todo))["docs"]
    actions = []
    for doc in docs:
        if not doc.get("found"):
            continue  # deleted meanwhile (alerts are never deleted by wirewatch): nothing to record
        source = doc["_source"]
        source["deliveries"] = _merged(source.get("deliveries") or [], todo[doc["_id"]], stamp)
        actions.append({
            "_op_type": "index", "_index": names.alerts, "_id": doc["_id"], "_source": source,
            "if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"],
        })  # fmt: skip
    conflicted: list[str] = []
    try:
        with es_errors("recording deliveries"):
            written, _ = bulk(es, actions, refresh=True, max_retries=2, initial_backoff=0.2)
    except BulkIndexError as exc:
        written = len(actions) - len(exc.errors)
        for error in exc.errors:
            item = error["index"]
            if item.get("status") != 409:
                raise SearchError(f"recording delivery of alert {item['_id']} failed: {item.get('error')}") from exc
            conflicted.append(item["_id"])
    return int(written), conflicted


def _merged(entries: list[dict[str, Any]], outcomes: list[OutcomeLike], stamp: str) -> list[dict[str, Any]]:
    by_channel = {e["channel"]: dict(e) for e in entries}
    for outcome in outcomes:
        entry = by_channel.setdefault(outcome.channel, {"channel": outcome.channel, "state": "pending", "attempts": 0})
        if entry["state"] == "delivered":
            continue  # another pass already delivered it: never undo that
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
