"""Scheduled digests, composed: for each channel whose digest is due, claim it, list the stories waiting for it
per watch, send ONE message, mark exactly the alerts it listed as delivered on that channel, schedule the next.

The deliver step calls ``send_due_digests`` after the immediate deliveries (``delivery.deliver_alerts``), so
every pass, CLI or Airflow, sends the digests that have come due; the claim in ``search.alerting.digests``
makes overlapping runners send each digest once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

from wirewatch.runtime import Runtime
from wirewatch.steps import Step
from wirewatch.summary import PassSummary
from wirewatch.unrecorded import Unrecorded

log = logging.getLogger("wirewatch.digests")
LEASE_S = 900.0  # a runner holding a digest longer than this is presumed dead (sends take seconds)


def scheduled_channels(channels: Mapping[str, Any]) -> set[str]:
    """Names of the channels that send scheduled digests (not alerts as they come)."""
    from notify.digest import schedule_of

    return {name for name, channel in channels.items() if schedule_of(channel) is not None}


def next_digest_due(rt: Runtime, channels: Mapping[str, Any], *, now: datetime) -> datetime | None:
    """When the first scheduled digest of ``channels`` can next be sent (None: no scheduled channel)."""
    from notify.digest import schedule_of
    from search.alerting import digests as store

    moments = []
    for channel in channels.values():
        schedule = schedule_of(channel)
        if schedule is not None:
            state = store.digest_state(rt.es, rt.names, channel.name, first_due=schedule.next_due(now))
            moments.append(state.due_at)
    return min(moments, default=None)


def send_due_digests(
    rt: Runtime,
    summary: PassSummary,
    channels: Mapping[str, Any],
    *,
    now: datetime | None = None,
    unrecorded: Unrecorded | None = None,
) -> int:
    """Send every scheduled digest due at ``now``; returns how many were sent.

    What a sent digest changes (its alerts delivered, the next one scheduled) goes through ``unrecorded``: when
    Elasticsearch is unreachable then, it waits there and is written later, never sent again."""
    from notify.digest import schedule_of

    now = now or datetime.now(UTC)
    records = unrecorded if unrecorded is not None else Unrecorded()
    sent = 0
    for channel in channels.values():
        schedule = schedule_of(channel)
        if schedule is not None:
            sent += _send_if_due(rt, summary, channel, schedule, now, records)
            records.flush()
    return sent


def _send_if_due(
    rt: Runtime, summary: PassSummary, channel: Any, schedule: Any, now: datetime, records: Unrecorded
) -> int:
    from notify.deliver import DeliveryOutcome
    from notify.digest import Digest, DigestRetry, send_digest
    from search.alerting import digests as store
    from search.alerting.outbox import record_deliveries

    state = store.digest_state(rt.es, rt.names, channel.name, first_due=schedule.next_due(now))
    if not state.is_due(now):
        return 0
    claimed = store.claim(rt.es, rt.names, state, token=uuid.uuid4().hex, until=store.lease_end(now, LEASE_S))
    if claimed is None:
        return 0  # another runner claimed it first: it sends this digest
    docs = store.waiting_alerts(rt.es, rt.names, channel.name, until=now)
    if not docs:
        store.finish(rt.es, rt.names, claimed, next_due=schedule.next_due(now), sent_at=None, listed=0)
        return 0
    digest = Digest(
        channel=channel.name, due_at=claimed.next_due.isoformat(), schedule=schedule.describe(),
        sections=_sections(rt, docs),
    )  # fmt: skip
    s = rt.settings
    retry = DigestRetry(max_attempts=s.delivery_max_attempts, backoff_s=s.delivery_backoff_s)
    outcome = send_digest(channel, digest, retry)
    stamp = datetime.now(UTC)
    es, names, what = rt.es, rt.names, f"the digest of {channel.name}"
    if outcome.state == "pending":
        retry_at = now + timedelta(seconds=_backoff(rt, claimed.attempts + outcome.attempts, outcome.retry_after_s))
        tried = [
            DeliveryOutcome(alert_id=aid, channel=channel.name, state="pending", attempts=outcome.attempts,
                            error=outcome.error)
            for aid in digest.alert_ids
        ]  # fmt: skip
        error = outcome.error or "pending"
        records.add(what, partial(record_deliveries, es, names, tried))
        records.add(what, partial(store.postpone, es, names, claimed, retry_at=retry_at, attempts=outcome.attempts,
                                  error=error))  # fmt: skip
        summary.deliveries["pending"] += len(digest.alert_ids)
        summary.fail(Step.DELIVER, f"digest@{channel.name}", outcome.error or "pending", transient=True)
        return 0
    listed = outcome.listed if outcome.listed is not None else digest
    state_name: Literal["delivered", "failed"] = "delivered" if outcome.state == "delivered" else "failed"
    done = [
        DeliveryOutcome(alert_id=aid, channel=channel.name, state=state_name, attempts=outcome.attempts,
                        delivered_at=stamp if state_name == "delivered" else None, error=outcome.error)
        for aid in listed.alert_ids
    ]  # fmt: skip
    # sent: remembered before anything can fail, so a retry records it and never sends it again
    records.add(what, partial(record_deliveries, es, names, done))
    records.add(what, partial(store.finish, es, names, claimed, next_due=schedule.next_due(now), sent_at=stamp,
                              listed=len(listed.alert_ids)))  # fmt: skip
    summary.deliveries[state_name] += len(listed.alert_ids)
    if state_name == "failed":
        summary.fail(Step.DELIVER, f"digest@{channel.name}", outcome.error or "failed")
        return 0
    summary.deliveries["digests"] += 1
    log.info("digest of %s sent: %d stories", channel.name, len(listed.alert_ids))
    return 1


def _backoff(rt: Runtime, failures: int, retry_after_s: float | None) -> float:
    from netsafe import Backoff

    s = rt.settings
    return Backoff(s.delivery_backoff_s, s.delivery_max_backoff_s).delay(max(failures, 1), retry_after_s)


def _sections(rt: Runtime, docs: list[dict[str, Any]]) -> Any:
    """The digest's stories per watch; sources and first-seen time from the story as it stands now."""
    from notify.digest import DigestStory, sections_from
    from search.stories import story_summaries

    summaries = story_summaries(rt.es, rt.names, [d["story_id"] for d in docs if d.get("story_id")])
    pairs = []
    for doc in docs:
        watch = doc.get("watch") or {}
        story = summaries.get(str(doc.get("story_id") or ""))
        seen = {doc.get("source"), *(s.get("source") for s in doc.get("also_seen") or ())} - {None}
        pairs.append((
            str(watch.get("name") or watch.get("id") or "?"),
            DigestStory(
                alert_id=str(doc["id"]),
                title=str(doc.get("title") or doc.get("article_id") or ""),
                url=str(doc.get("url") or ""),
                sources=len(story.sources) if story else len(seen),
                first_seen=(story.first_seen if story else None) or doc.get("published_at") or doc.get("created_at"),
                kind="spike" if watch.get("kind") == "spike" else "story",
            ),
        ))  # fmt: skip
    return sections_from(pairs)
