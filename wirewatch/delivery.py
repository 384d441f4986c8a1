"""Delivery from the outbox: the step the engine's deliverer, the pass and the Airflow DAG's deliver task all
call, below each of them (it imports neither)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from wirewatch.steps import Step
from wirewatch.summary import PassSummary
from wirewatch.unrecorded import Unrecorded

if TYPE_CHECKING:
    from notify.deliver import DeliveryOutcome
    from wirewatch.runtime import Runtime

OUTBOX_BATCH = 500  # alerts read from the outbox per delivery step


def deliver_alerts(
    rt: Runtime,
    summary: PassSummary,
    channels: dict[str, Any] | None = None,
    *,
    limit: int = OUTBOX_BATCH,
    deadline: float | None = None,
    unrecorded: Unrecorded | None = None,
) -> None:
    """Send the pending (alert, channel) pairs that are due, ``limit`` alerts at most; record each outcome.

    No send outlives ``deadline`` (``time.monotonic()``: the pass's) nor this runner's claims on the alerts:
    what could not be sent in time is recorded pending, due at once, for the next runner. A record that fails
    (Elasticsearch unreachable) waits in ``unrecorded`` and is written first on the next call, so a retry never
    sends again what was sent (``wirewatch.unrecorded``). Without one (a step run on its own), the record is
    retried for ``es_outage_patience_s`` before this raises."""
    from notify.deliver import deliver
    from notify.model import deliveries_from_docs
    from search.alerting.outbox import claim_deliveries, pending_deliveries, record_deliveries
    from wirewatch.digests import scheduled_channels, send_due_digests

    s = rt.settings
    owned = channels is None  # channels passed in belong to the caller, who closes them
    channels = channels if channels is not None else rt.channels()
    records, patience = (unrecorded, 0.0) if unrecorded is not None else (Unrecorded(), s.es_outage_patience_s)
    scheduled = scheduled_channels(channels)  # these send one digest when due, not alerts as they come
    try:
        with summary.timed(Step.DELIVER):
            records.flush(patience_s=patience)  # what an earlier try sent: recorded before anything is read
            now = datetime.now(UTC)
            docs = pending_deliveries(rt.es, rt.names, now=now, limit=limit, channels=list(channels),
                                      exclude=scheduled)  # fmt: skip
            # Claimed before sent: of runners that read the same pending alert, one sends it (the others count it).
            claims = claim_deliveries(
                rt.es, rt.names, docs, owner=rt.runner_id, ttl_s=s.delivery_claim_ttl_s, now=now,
                channels=list(channels), exclude=scheduled,
            )  # fmt: skip
            if claims.elsewhere:
                summary.deliveries["claimed_elsewhere"] += claims.elsewhere
            pending = deliveries_from_docs(claims.claimed, claimed_by=rt.runner_id)
            outcomes = deliver(
                pending,
                channels,
                max_attempts=s.delivery_max_attempts,
                backoff_s=s.delivery_backoff_s,
                max_defer_s=s.delivery_max_backoff_s,
                parallel=s.delivery_parallel,
                deadline=_sending_deadline(s.delivery_claim_ttl_s, deadline),
            )
            if outcomes:  # sent: counted and remembered before the record can fail
                records.add(
                    f"{len(outcomes)} deliveries",
                    partial(record_deliveries, rt.es, rt.names, outcomes, owner=rt.runner_id),
                )
                _count_outcomes(summary, outcomes)
            records.flush(patience_s=patience)
            send_due_digests(rt, summary, channels, now=now, unrecorded=records)
            records.flush(patience_s=patience)
    finally:
        if owned:
            close_channels(channels)


def next_delivery_due(rt: Runtime, channels: dict[str, Any]) -> datetime | None:
    """When something waiting is next due: a delivery's retry, a lapsed claim (its runner died), a scheduled
    digest; None when nothing waits."""
    from search.alerting.outbox import next_due_at
    from wirewatch.digests import next_digest_due, scheduled_channels

    now = datetime.now(UTC)
    outbox = next_due_at(rt.es, rt.names, now=now, exclude=scheduled_channels(channels))
    digest = next_digest_due(rt, channels, now=now)
    return min((m for m in (outbox, digest) if m is not None), default=None)


def _count_outcomes(summary: PassSummary, outcomes: Sequence[DeliveryOutcome]) -> None:
    for outcome in outcomes:
        summary.deliveries[outcome.state] += 1
        if outcome.state != "delivered":
            summary.fail(
                Step.DELIVER,
                f"{outcome.alert_id}@{outcome.channel}",
                outcome.error or outcome.state,
                transient=outcome.state == "pending",  # unconfigured: set aside until the channel is back
            )


def _sending_deadline(claim_ttl_s: float, deadline: float | None) -> float:
    # Sends stop before the claims lapse: after that another runner may take the same alerts and send them too.
    claims_end = time.monotonic() + claim_ttl_s - min(30.0, claim_ttl_s / 10)
    return claims_end if deadline is None else min(deadline, claims_end)


def close_channels(channels: dict[str, Any]) -> None:
    for channel in channels.values():
        channel.close()
