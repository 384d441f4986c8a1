"""Spike watches, composed: after matching, check every awake group watch's mentions today against the last
days (``search.alerting.spikes``) and raise at most one spike alert per group and day.

``pipeline.match_watches`` calls ``raise_spikes`` after creating the match alerts, so the CLI pass, the
Airflow match task and the streaming engine (whatever calls the match step) all check spikes; the alerts are
delivered by the deliver step like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wirewatch.runtime import Runtime
from wirewatch.steps import Step
from wirewatch.summary import PassSummary


def raise_spikes(rt: Runtime, summary: PassSummary, *, now: datetime | None = None) -> list[str]:
    """Raise today's spike alerts; returns the ids created now (none when already raised today)."""
    from search.alerting.snooze import awake
    from search.alerting.spikes import raise_spike_alerts
    from search.alerting.watches import list_watches

    now = now or datetime.now(UTC)
    s = rt.settings
    watches = awake(list_watches(rt.es, rt.names, enabled_only=True), now)
    report = raise_spike_alerts(
        rt.es, rt.names, watches, now=now, k=s.spike_k, min_count=s.spike_min_count, window_days=s.spike_window_days
    )
    summary.alerts["spikes"] += len(report.created)
    for aid, reason in report.failed.items():
        summary.fail(Step.MATCH, f"spike {aid}", reason, transient=True)
    return report.created
