"""Prometheus metrics in the text exposition format, counted from what the stages already return.

Nothing here counts on its own: every figure is read, at scrape time, from a pass summary (``PassSummary``:
the outcomes the engine records), the engine's live ``Progress`` and queues, or the index. Each process builds
its own ``CollectorRegistry`` (no global registry: tests and several services in one process never share
counts). The stages import nothing of this.

Metric names (the ``_total`` suffix is the exposition's, for counters):

- ``wirewatch_feeds_polled_total{status}``: ok / not_modified / failed
- ``wirewatch_feeds_failed_total{reason}``: failed polls by kind (``summary.failure_kind``)
- ``wirewatch_pages_fetched_total``, ``wirewatch_articles_total{state}`` (the summary's entry states)
- ``wirewatch_alerts_total{outcome}``: created / duplicate / attached
- ``wirewatch_deliveries_total{channel,state}``: delivered / pending / failed
- ``wirewatch_queue_depth{queue}``, ``wirewatch_ner_backlog``, ``wirewatch_feeds_in_flight``
- ``wirewatch_elasticsearch_outage_seconds_total``, ``wirewatch_elasticsearch_up``
- ``wirewatch_last_progress_timestamp_seconds``
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wirewatch.summary import ENTRY_STATES, PassSummary

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
POLL_STATES = ("ok", "not_modified", "failed")
ALERT_OUTCOMES = ("created", "duplicate", "attached")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class Reading:
    """What one scrape shows. Gauges left at None are not exposed (a shard task has no live queues)."""

    summary: PassSummary
    queues: Mapping[str, int] = field(default_factory=dict)
    ner_backlog: int | None = None
    in_flight_feeds: int | None = None
    es_outage_s: float | None = None  # None: the summary's (a finished pass)
    es_up: bool | None = None
    last_progress_at: float | None = None  # time.time() of the last progress


class FamiliesCollector(Collector):
    """Yields the metric families ``produce()`` returns, at every scrape."""

    def __init__(self, produce: Callable[[], Iterable[Metric]]) -> None:
        self._produce = produce

    def collect(self) -> Iterable[Metric]:
        return self._produce()


def _counter(name: str, doc: str, labels: list[str], values: Mapping[tuple[str, ...], float]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _gauge(name: str, doc: str, value: float) -> Metric:
    return GaugeMetricFamily(name, doc, value=value)


def families(r: Reading) -> list[Metric]:
    s = r.summary
    out = [
        _counter("wirewatch_feeds_polled", "Feeds polled, by the poll's outcome", ["status"],
                 {(k,): s.feeds.get(k, 0) for k in POLL_STATES}),
        _counter("wirewatch_feeds_failed", "Failed feed polls, by kind of failure", ["reason"],
                 {(k,): v for k, v in s.feed_failures.items()}),
        CounterMetricFamily("wirewatch_pages_fetched", "Article pages fetched", value=s.pages_fetched),
        _counter("wirewatch_articles", "Feed entries by final state", ["state"],
                 {(k,): s.entries.get(k, 0) for k in ENTRY_STATES}),
        _counter("wirewatch_alerts", "Alerts by outcome", ["outcome"],
                 {(k,): s.alerts.get(k, 0) for k in ALERT_OUTCOMES}),
        _counter("wirewatch_deliveries", "Alert deliveries by channel and state", ["channel", "state"],
                 {(c, k): v for c, states in s.channel_deliveries.items() for k, v in states.items()}),
        CounterMetricFamily("wirewatch_elasticsearch_outage_seconds",
                            "Seconds Elasticsearch was unreachable while work waited",
                            value=s.es_outage_s if r.es_outage_s is None else r.es_outage_s),
    ]  # fmt: skip
    if r.queues:
        depth = GaugeMetricFamily("wirewatch_queue_depth", "Items waiting between two stages", labels=["queue"])
        for name, size in sorted(r.queues.items()):
            depth.add_metric([name], size)
        out.append(depth)
    if r.ner_backlog is not None:
        out.append(_gauge("wirewatch_ner_backlog", "Articles indexed without entities yet", r.ner_backlog))
    if r.in_flight_feeds is not None:
        out.append(_gauge("wirewatch_feeds_in_flight", "Feeds polled and not yet committed", r.in_flight_feeds))
    if r.es_up is not None:
        out.append(_gauge("wirewatch_elasticsearch_up", "1 when the node answered", 1.0 if r.es_up else 0.0))
    if r.last_progress_at is not None:
        out.append(_gauge("wirewatch_last_progress_timestamp_seconds", "When work last moved", r.last_progress_at))
    return out


def registry_for(read: Callable[[], Reading], *more: Callable[[], Iterable[Metric]]) -> CollectorRegistry:
    """A registry of its own (never the global one): the families of ``read()``, then those of ``more``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FamiliesCollector(lambda: families(read())))
    for produce in more:
        registry.register(FamiliesCollector(produce))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def write_textfile(directory: Path, name: str, reading: Reading) -> Path:
    """``reading`` in node_exporter's textfile-collector format, as ``<directory>/<name>.prom`` (written to
    a temporary file and renamed, so the collector never reads half a file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_UNSAFE_NAME.sub('_', name)}.prom"
    write_to_textfile(str(path), registry_for(lambda: reading))
    return path
