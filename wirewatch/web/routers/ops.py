"""``/metrics`` and ``/healthz`` of the workbench, for Prometheus and load balancers: no sign-in, no secrets.

Both read the indices (any runner's work lands there: Airflow shards, ``wirewatch run`` on other machines) and
the last pass summary file. Nothing shown names a URL, a channel's address or an error's text: counts, channel
names (the operator's labels), states and times only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client.core import GaugeMetricFamily, Metric

from search.errors import SearchError
from wirewatch.health import health_answer, node_check, progress_check
from wirewatch.metrics import CONTENT_TYPE, Reading, exposition, registry_for
from wirewatch.summary import PassSummary
from wirewatch.web.context import CTX, WebContext

router = APIRouter()
log = logging.getLogger("wirewatch.web")


def last_summary(ctx: WebContext) -> PassSummary:
    """The last pass summary file (Airflow's summary task, ``wirewatch ingest``, a stopped ``run``); empty when
    there is none yet or it cannot be read."""
    try:
        return PassSummary.from_dict(json.loads(ctx.settings.summary_file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return PassSummary()


def index_families(ctx: WebContext) -> tuple[list[Metric], float | None]:
    """Gauges read from the indices, and when a feed state was last saved (None: never, or the node is down)."""
    from search.gauges import delivery_counts, last_feed_update, stored
    from search.reuse import count_waiting_for_entities

    up = GaugeMetricFamily("wirewatch_elasticsearch_up", "1 when the node answered")
    try:
        deliveries = delivery_counts(ctx.es, ctx.names)
        articles, alerts = stored(ctx.es, ctx.names.articles), stored(ctx.es, ctx.names.alerts)
        backlog = count_waiting_for_entities(ctx.es, ctx.names)
        last = last_feed_update(ctx.es, ctx.names)
    except SearchError as exc:
        log.warning("/metrics: the index cannot be read: %s", type(exc).__name__)
        up.add_metric([], 0.0)
        return [up], None
    up.add_metric([], 1.0)
    stored_deliveries = GaugeMetricFamily("wirewatch_deliveries_stored", "Stored alert deliveries by channel and state",
                                          labels=["channel", "state"])  # fmt: skip
    for (channel, state), count in sorted(deliveries.items()):
        stored_deliveries.add_metric([channel, state], count)
    outbox = sum(count for (_, state), count in deliveries.items() if state == "pending")
    queue = GaugeMetricFamily("wirewatch_queue_depth", "Items waiting", labels=["queue"])
    queue.add_metric(["outbox"], outbox)
    out: list[Metric] = [
        up, stored_deliveries, queue,
        GaugeMetricFamily("wirewatch_articles_stored", "Articles in the index", value=articles),
        GaugeMetricFamily("wirewatch_alerts_stored", "Alerts in the index", value=alerts),
        GaugeMetricFamily("wirewatch_ner_backlog", "Articles indexed without entities yet", value=backlog),
    ]  # fmt: skip
    stamp = last.timestamp() if last is not None else None
    if stamp is not None:
        out.append(GaugeMetricFamily("wirewatch_last_progress_timestamp_seconds", "When a feed state was last saved",
                                     value=stamp))  # fmt: skip
    return out, stamp


@router.get("/metrics", include_in_schema=False)
def metrics(ctx: WebContext = CTX) -> Response:
    """The last pass's counts (the summary file) and the indices' gauges, in Prometheus' text format."""
    gauges, _ = index_families(ctx)
    summary = last_summary(ctx)
    registry = registry_for(lambda: Reading(summary=summary), lambda: gauges)
    return Response(exposition(registry), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/healthz", include_in_schema=False)
def healthz(ctx: WebContext = CTX) -> Response:
    """200 when the node answers and a feed state was saved within ``health_poll_bound_s``; 503 otherwise."""
    from search.gauges import last_feed_update

    node = node_check(ctx.es)
    last: float | None = None
    if node["ok"]:
        try:
            when = last_feed_update(ctx.es, ctx.names)
            last = when.timestamp() if when is not None else None
        except SearchError:
            node = {"ok": False, "answers": False, "error": "SearchError"}
    checks: dict[str, dict[str, Any]] = {
        "elasticsearch": node,
        "progress": progress_check(last, ctx.settings.health_poll_bound_s, measured="last feed state saved"),
    }
    status, body = health_answer(checks)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

