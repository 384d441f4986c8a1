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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ingest.state import due_feeds as due_of
from search.errors import SearchError
from wirewatch.delivery import close_channels, deliver_alerts
from wirewatch.engine import run_engine
from wirewatch.runtime import ConfigError, PassTools, Runtime
from wirewatch.steps import Step
from wirewatch.summary import PassSummary

if TYPE_CHECKING:
    from enrich.tagger import Tagger
    from ingest.feedlist import FeedSpec
    from search.indices import SetupReport
    from wirewatch.engine.progress import Progress

log = logging.getLogger("wirewatch.pipeline")
__all__ = ["add_entities", "close_channels", "deliver_alerts", "due_feeds", "ensure_indices", "match_watches",
           "run_pass", "sync_watches"]


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
    return due_of(feeds, states, now or datetime.now(UTC))


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


# --- NER, after the alerts ------------------------------------------------------------------------------
def add_entities(rt: Runtime, tagger: Tagger, summary: PassSummary, *, limit: int = 1000) -> int:
    """Add NER entities to articles indexed with group tags only (this pass's and any a crash left)."""
    from search.bulk import update_entities
    from search.reuse import articles_waiting_for_entities
    from wirewatch.eventalerts import alert_on_events, count_event_alerts
    from wirewatch.reuse import entity_updates, settle_story_alerts

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
        settle_story_alerts(rt.es, rt.names, plan, report.written)  # a later report of an alerted story
    summary.entities_reused += plan.reused
    for aid, reason in report.failed.items():
        summary.fail(Step.NER, aid, reason, transient=aid in report.transient)
    summary.entities_added += len(report.written)
    alerted = alert_on_events(
        rt.es, rt.names, plan.updates, set(report.written), dedup_window_s=s.alert_dedup_window_s,
        max_age_s=s.alert_max_age_s,
    )  # fmt: skip  # event watches: events exist only now
    count_event_alerts(summary, alerted)
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
