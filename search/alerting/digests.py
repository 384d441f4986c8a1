"""Scheduled digests, the search side: when each channel's next digest is due, who is sending it, what it lists.

A digest channel's state is a document in the checkpoints index (id ``digest-<channel>``): ``position`` holds
``next_due`` (the scheduled time of the next digest), ``claimed_by`` / ``claimed_until`` (a runner sending it,
for at most a lease), ``retry_at`` after a failed send, and what the last one did. Every change is a
compare-and-set on the document's ``_seq_no``, so of two runners (overlapping passes, Airflow tasks) that find
a digest due, exactly one claims it; the other sends nothing. A runner that dies holding the claim lets it
lapse after the lease, and the next runner sends that digest (with the same idempotency key when it lists the
same alerts). ``next_due`` moves only after the digest was sent (or found empty), so a restart never skips
one and never sends one twice.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from search.client import es_errors
from search.names import IndexNames

__all__ = [
    "MAX_STORIES",
    "DigestState",
    "claim",
    "digest_state",
    "finish",
    "lease_end",
    "postpone",
    "state_id",
    "waiting_alerts",
]

MAX_STORIES = 200  # alerts one digest lists at most; the rest wait for the next one


@dataclass(frozen=True, kw_only=True)
class DigestState:
    channel: str
    next_due: datetime
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    retry_at: datetime | None = None
    attempts: int = 0  # failed sends of this digest so far
    last_error: str | None = None
    last_sent_at: str | None = None
    last_listed: int = 0
    seq_no: int | None = None
    primary_term: int | None = None

    def is_due(self, now: datetime) -> bool:
        """Due and nobody holds a live claim on it (a failed send waits until ``retry_at``)."""
        if now < self.next_due or (self.retry_at is not None and now < self.retry_at):
            return False
        return self.claimed_until is None or self.claimed_until <= now

    @property
    def due_at(self) -> datetime:
        """When this digest can next be sent: its scheduled time, a failed send's retry, a live claim's lapse."""
        return max(m for m in (self.next_due, self.retry_at, self.claimed_until) if m is not None)

    def position(self) -> dict[str, Any]:
        return {
            "next_due": self.next_due.isoformat(),
            "claimed_by": self.claimed_by,
            "claimed_until": _iso(self.claimed_until),
            "retry_at": _iso(self.retry_at),
            "attempts": self.attempts,
            "last_error": self.last_error,
            "last_sent_at": self.last_sent_at,
            "last_listed": self.last_listed,
        }


def state_id(channel: str) -> str:
    return f"digest-{channel}"


def digest_state(es: Elasticsearch, names: IndexNames, channel: str, *, first_due: datetime) -> DigestState:
    """The channel's digest state; the first time, one due at ``first_due`` (created once, whoever races)."""
    with es_errors(f"reading the digest state of channel {channel!r}"):
        try:
            return _from_doc(channel, es.get(index=names.checkpoints, id=state_id(channel)))
        except NotFoundError:
            pass
        fresh = DigestState(channel=channel, next_due=first_due)
        with contextlib.suppress(ConflictError):  # another runner created it first: use theirs
            es.create(index=names.checkpoints, id=state_id(channel), document=_doc(fresh), refresh=True)
        return _from_doc(channel, es.get(index=names.checkpoints, id=state_id(channel)))


def claim(
    es: Elasticsearch, names: IndexNames, state: DigestState, *, token: str, until: datetime
) -> DigestState | None:
    """Claim the due digest for ``token`` until ``until``; None when another runner changed the state first."""
    claimed = replace(state, claimed_by=token, claimed_until=until)
    return _write(es, names, claimed)


def finish(
    es: Elasticsearch,
    names: IndexNames,
    state: DigestState,
    *,
    next_due: datetime,
    sent_at: datetime | None,
    listed: int,
) -> DigestState | None:
    """The digest was sent (or there was nothing to send): release the claim and schedule the next one."""
    done = replace(
        state, next_due=next_due, claimed_by=None, claimed_until=None, retry_at=None, attempts=0, last_error=None,
        last_sent_at=sent_at.isoformat() if sent_at else state.last_sent_at, last_listed=listed,
    )  # fmt: skip
    return _write(es, names, done)


def postpone(
    es: Elasticsearch, names: IndexNames, state: DigestState, *, retry_at: datetime, attempts: int, error: str
) -> DigestState | None:
    """The send failed for now: release the claim, keep the digest due, try again at ``retry_at``."""
    later = replace(
        state, claimed_by=None, claimed_until=None, retry_at=retry_at, attempts=state.attempts + attempts,
        last_error=error[:2000],
    )  # fmt: skip
    return _write(es, names, later)


def waiting_alerts(
    es: Elasticsearch, names: IndexNames, channel: str, *, until: datetime, limit: int = MAX_STORIES
) -> list[dict[str, Any]]:
    """Alert documents created up to ``until`` with a pending delivery on ``channel``, grouped by watch
    (watch name, then oldest first); same-story copies are in their alert's ``also_seen``, not listed."""
    query = {
        "bool": {
            "filter": [
                {"range": {"created_at": {"lte": until.isoformat()}}},
                {"nested": {"path": "deliveries", "query": {"bool": {"filter": [
                    {"term": {"deliveries.channel": channel}}, {"term": {"deliveries.state": "pending"}},
                ]}}}},
            ],
            "must_not": [{"exists": {"field": "attached_to"}}],
        }
    }  # fmt: skip
    with es_errors(f"reading the alerts waiting for the digest of {channel!r}"):
        found = es.search(
            index=names.alerts, query=query, size=limit,
            sort=[{"created_at": "asc"}, {"id": "asc"}],
        )  # fmt: skip
    docs = [hit["_source"] for hit in found["hits"]["hits"]]
    return sorted(docs, key=lambda d: str((d.get("watch") or {}).get("name", "")))  # stable: oldest first within


def _write(es: Elasticsearch, names: IndexNames, state: DigestState) -> DigestState | None:
    with es_errors(f"writing the digest state of channel {state.channel!r}"):
        try:
            result = es.index(
                index=names.checkpoints, id=state_id(state.channel), document=_doc(state), refresh=True,
                if_seq_no=state.seq_no, if_primary_term=state.primary_term,
            )  # fmt: skip
        except ConflictError:
            return None
    return replace(state, seq_no=int(result["_seq_no"]), primary_term=int(result["_primary_term"]))


def _doc(state: DigestState) -> dict[str, Any]:
    return {"name": state_id(state.channel), "updated_at": datetime.now(UTC).isoformat(), "position": state.position()}


def _from_doc(channel: str, doc: Any) -> DigestState:
    position = doc["_source"].get("position") or {}
    return DigestState(
        channel=channel,
        next_due=_parse(position["next_due"]),
        claimed_by=position.get("claimed_by"),
        claimed_until=_parse_opt(position.get("claimed_until")),
        retry_at=_parse_opt(position.get("retry_at")),
        attempts=int(position.get("attempts") or 0),
        last_error=position.get("last_error"),
        last_sent_at=position.get("last_sent_at"),
        last_listed=int(position.get("last_listed") or 0),
        seq_no=int(doc["_seq_no"]),
        primary_term=int(doc["_primary_term"]),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_opt(stamp: str | None) -> datetime | None:
    return _parse(stamp) if stamp else None


def lease_end(now: datetime, lease_s: float) -> datetime:
    return now + timedelta(seconds=lease_s)
