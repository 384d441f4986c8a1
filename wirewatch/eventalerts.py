"""Event watches after the NER phase: the events of one NER update, written, become alerts.

Both NER paths call ``alert_on_events`` right after ``update_entities``: the engine's NER stage
(``wirewatch/engine/ner.py``) and the Airflow pipeline's NER phase (``wirewatch/pipeline.py``). Only the
articles whose update was written are matched, so a failed write cannot alert on events the index lacks; an
article whose alert already exists (re-tagged, re-run) is recognised by ``create_alerts`` (exactly once).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from search.alerting.alerts import CreateReport, create_alerts
from search.alerting.eventwatch import event_matches
from search.alerting.snooze import awake
from search.alerting.watches import list_watches
from wirewatch.steps import Step
from wirewatch.summary import PassSummary

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from search.names import IndexNames


def alert_on_events(
    es: Elasticsearch,
    names: IndexNames,
    updates: Mapping[str, Mapping[str, Any]],
    written: Collection[str],
    *,
    dedup_window_s: float,
    max_age_s: float | None,
    now: datetime | None = None,
) -> CreateReport:
    """Create the alerts of the enabled, awake event watches on the written ``updates`` (NER fields by id)."""
    now = now or datetime.now(UTC)
    done = {aid: fields for aid, fields in updates.items() if aid in written and fields.get("events")}
    if not done:
        return CreateReport()
    watches = awake(list_watches(es, names, kind="event", enabled_only=True), now)
    if not watches:
        return CreateReport()
    matches = event_matches(es, names, watches, done)
    return create_alerts(es, names, matches, dedup_window_s=dedup_window_s, max_age_s=max_age_s, now=now)


def count_event_alerts(summary: PassSummary, report: CreateReport) -> None:
    """Add an event-alert report to the pass's alert counters (the caller holds any lock they need)."""
    summary.alerts["created"] += len(report.created)
    summary.alerts["already_existed"] += report.existing
    summary.alerts["attached_to_earlier"] += len(report.attached)
    if report.too_old:
        summary.alerts["too_old_to_alert"] += len(set(report.too_old))
    for aid, reason in report.failed.items():
        summary.fail(Step.MATCH, aid, reason)
