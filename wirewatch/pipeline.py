"""One pass: due feeds -> poll -> fetch -> extract -> tag groups -> index -> commit feed state -> match ->
create alerts -> deliver -> add NER entities.

Each step is a function of its own so the Airflow DAG can run them as separate tasks; ``run_pass`` runs one
pass through the streaming engine (``wirewatch.engine``), which calls the same steps (set-up, delivery) and
the same per-feed pieces (``ingest.feedwork``) with every stage working at once. The invariants of
docs/design.md hold across any crash:

- feed state is saved only for feeds whose new articles are all durably indexed (invariant 2);
- alerts are found from the index since a checkpoint, created with ``op_type=create`` and delivered from an
  outbox, so a pass killed anywhere and run again alerts and delivers each (watch, article) once (3);
- tracked-group alerts do not wait for statistical NER: articles are indexed with their gazetteer tags
  (``ner_done: false``), alerted on, and completed with entities afterwards, including any a crash left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from wirewatch.runtime import PassTools, Runtime
from wirewatch.steps import Step
from wirewatch.summary import PassSummary
from wirewatch.unrecorded import Unrecorded

if TYPE_CHECKING:
    from enrich.tagger import Tagger
    from ingest.feedlist import FeedSpec
    from notify.deliver import DeliveryOutcome
    from search.indices import SetupReport
    from search.leases import Leases
    from wirewatch.engine.progress import Progress

log = logging.getLogger("wirewatch.pipeline")
OUTBOX_BATCH = 500  # alerts read from the outbox per delivery step


# --- set-up steps ---------------------------------------------------------------------------------------
def ensure_indices(rt: Runtime) -> SetupReport:
    """Create or migrate every index: articles, feed state, watches, alerts, checkpoints (idempotent).

    The pass, the DAG's first task and ``wirewatch es setup`` all call this one function."""
    from search.alerting.indices import setup_alert_indices
    from search.indices import setup_indices
    from search.leases import setup_lease_index

    report = setup_indices(rt.es, rt.names)
    alert_indices = setup_alert_indices(rt.es, rt.names)
    if setup_lease_index(rt.es, rt.names):
        alert_indices.append(rt.names.leases)
    report.created.extend(alert_indices)
    for name in (rt.names.watches, rt.names.alerts, rt.names.leases):
        if name not in alert_indices and name not in report.up_to_date:
            report.up_to_date.append(name)
    return report


def sync_watches(rt: Runtime, channel_names: Sequence[str]) -> dict[str, Any]:
    """One watch per tracked group of the watchlist, routed to every configured channel."""
    from search.alerting.watches import sync_group_watches

    groups = [{"id": g.id, "name": g.name} for g in rt.watchlist()]
    report = sync_group_watches(rt.es, rt.names, groups, channels=list(channel_names))
    return {"created": report.created, "updated": report.updated, "disabled": report.disabled}


def due_feeds(rt: Runtime, now: datetime | None = None) -> list[FeedSpec]:
    """The feeds whose next poll time has come (a new feed is always due)."""
    from ingest.state import load_states
    from search.feedstate import EsFeedStateStore

    feeds = rt.feeds()
    states = load_states(EsFeedStateStore(rt.es, rt.names), [f.id for f in feeds])
    now = now or datetime.now(UTC)
    return [f for f in feeds if (states.get(f.id) is None or states[f.id].is_due(now))]


# --- runners side by side: one runner polls a feed at a time ------------------------------------------------
FEED_LEASE = "feed"


def feed_leases(rt: Runtime) -> Leases:
    """This runner's leases on feeds (``with feed_leases(rt).renewing() as leases``: renewed while the block
    runs, released at its end)."""
    from search.leases import Leases

    return Leases(rt.es, rt.names, kind=FEED_LEASE, owner=rt.runner_id, ttl_s=rt.settings.feed_lease_ttl_s)


# --- alerts ---------------------------------------------------------------------------------------------
def match_watches(rt: Runtime, summary: PassSummary) -> None:
    """Match everything indexed since the checkpoint against every watch and create the alerts."""
    from search.alerting.reconcile import match_since_checkpoint
    from wirewatch.spikes import raise_spikes

    with summary.timed(Step.MATCH):
        report = match_since_checkpoint(
            rt.es, rt.names, dedup_window_s=rt.settings.alert_dedup_window_s, max_age_s=rt.settings.alert_max_age_s
        )
        raise_spikes(rt, summary)
    summary.alerts["matched_articles"] += report.articles
    summary.alerts["created"] += len(report.alerts.created)
    summary.alerts["already_existed"] += report.alerts.existing
    summary.alerts["attached_to_earlier"] += len(report.alerts.attached)
    if report.alerts.too_old:
        summary.alerts["too_old_to_alert"] += len(set(report.alerts.too_old))
    for aid, reason in report.alerts.failed.items():
        summary.fail(Step.MATCH, aid, reason)
    if report.alerts.refused:  # the checkpoint stays before them: the next run matches them
        reason = f"Elasticsearch refused matching {len(report.alerts.refused)} article(s) (429)"
        summary.fail(Step.MATCH, "reconcile", reason + ": matched again by the next pass", transient=True)


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
        summary.delivered(outcome.channel, outcome.state)
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


# --- NER, after the alerts ------------------------------------------------------------------------------
def add_entities(rt: Runtime, tagger: Tagger, summary: PassSummary, *, limit: int = 1000) -> int:
    """Add NER entities to articles indexed with group tags only (this pass's and any a crash left)."""
    from search.bulk import update_entities
    from search.reuse import articles_waiting_for_entities
    from wirewatch.reuse import entity_updates

    if not tagger.ner:
        return 0
    with summary.timed(Step.NER):
        todo = articles_waiting_for_entities(rt.es, rt.names, limit=limit)
        if not todo:
            return 0
        plan = entity_updates(
            rt.es, rt.names, tagger, todo, story_days=rt.settings.story_language_days
        )  # identical texts reuse entities: NER once
        s = rt.settings
        report = update_entities(
            rt.es, rt.names, plan.updates, chunk_docs=s.es_bulk_chunk_docs, max_retries=s.es_max_retries,
            backoff_s=s.es_backoff_s, max_backoff_s=s.es_max_backoff_s,
        )  # fmt: skip
    summary.entities_reused += plan.reused
    for aid, reason in report.failed.items():
        summary.fail(Step.NER, aid, reason, transient=aid in report.transient)
    summary.entities_added += len(report.written)
    return len(report.written)


# --- the whole pass ---------------------------------------------------------------------------------------
def run_pass(
    rt: Runtime,
    tools: PassTools,
    *,
    only_due: bool = True,
    on_step: Callable[[Step, str], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    deadline_s: float | None = None,
    stop_event: threading.Event | None = None,
) -> PassSummary:
    """One complete pass through the streaming engine. Never raises for bad input; an unreachable
    Elasticsearch makes it ``fatal``.

    ``on_step`` is told each step as it starts (set-up, then the engine, where the steps overlap);
    ``on_progress`` gets the engine's live counters about twice a second. ``deadline_s`` overrides the
    ``pass_deadline_s`` setting; ``stop_event`` ends the pass early (unfinished feeds abandoned)."""
    step = on_step or (lambda step, detail: None)
    from search.errors import SearchError
    from wirewatch.engine import run_engine
    from wirewatch.runtime import ConfigError

    summary = PassSummary()
    try:
        step(Step.SETUP, "")
        channels = rt.channels()
        try:
            with summary.timed(Step.SETUP):
                ensure_indices(rt)
                sync_watches(rt, list(channels))
            feeds = rt.feeds()
            step(Step.COLLECT, f"{len(feeds)} feeds, every stage at once")
            run_engine(
                rt, tools, feeds, summary=summary, only_due=only_due, channels=channels,
                on_progress=on_progress, deadline_s=deadline_s, stop_event=stop_event,
            )  # fmt: skip
        finally:
            close_channels(channels)
    except (SearchError, ConfigError) as exc:
        log.error("pass stopped: %s", exc)
        summary.fatal = str(exc)
    summary.finished_at = datetime.now(UTC).timestamp()
    return summary
