"""Figures read from the indices for monitoring (the workbench's ``/metrics`` and ``/healthz``): deliveries by
channel and state, articles and alerts stored, and when a feed state was last saved (any runner's progress)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.names import IndexNames

MAX_CHANNELS = 200  # channels come from the operator's file: a bound on the labels, never reached in practice


def delivery_counts(es: Elasticsearch, names: IndexNames) -> dict[tuple[str, str], int]:
    """{(channel, state): deliveries} over every stored alert (``pending`` ones are the outbox's queue)."""
    aggs: dict[str, Any] = {"d": {"nested": {"path": "deliveries"}, "aggs": {
        "channel": {"terms": {"field": "deliveries.channel", "size": MAX_CHANNELS}, "aggs": {
            "state": {"terms": {"field": "deliveries.state", "size": 10}}}}}}}  # fmt: skip
    with es_errors("counting deliveries"):
        found = es.search(index=names.alerts, size=0, aggs=aggs, ignore_unavailable=True)
    counts: dict[tuple[str, str], int] = {}
    for channel in found.get("aggregations", {}).get("d", {}).get("channel", {}).get("buckets", []):
        for state in channel["state"]["buckets"]:
            counts[(str(channel["key"]), str(state["key"]))] = int(state["doc_count"])
    return counts


def stored(es: Elasticsearch, index: str) -> int:
    """Documents in ``index`` (0 while it does not exist)."""
    with es_errors(f"counting {index}"):
        return int(es.count(index=index, ignore_unavailable=True)["count"])


def last_feed_update(es: Elasticsearch, names: IndexNames) -> datetime | None:
    """When a runner last saved a feed's state (after polling it), or None when none ever did."""
    with es_errors("reading when feeds were last polled"):
        found = es.search(index=names.feeds, size=0, aggs={"last": {"max": {"field": "updated_at"}}},
                          ignore_unavailable=True)  # fmt: skip
    text = found.get("aggregations", {}).get("last", {}).get("value_as_string")
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
