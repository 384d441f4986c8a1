"""Spike watch per tracked group: today's mentions against the last days' mean plus k standard deviations.

A mention is an article tagged with the group (``group_ids``), counted on the UTC day it was published, or
indexed when it has no publication date (so a back-filled old article is not "today"). Today is a spike when
its count is at least ``min_count`` and above ``mean + k * std`` of the ``window_days`` days before it (days
without mentions count as 0; population standard deviation). One aggregation counts every group.

A spike raises one alert per group and day: ``_id`` = hash("spike", group, day), written with
``op_type=create``, so later passes that day (and other runners) raise nothing more. The alert goes through the
normal outbox to the channels of the group's watch (``deliveries`` pending per channel); ``watch.kind`` is
``spike`` and ``spike`` holds the numbers. A disabled or snoozed group watch raises no spike alert.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from search.alerting.alerts import create_alert_docs
from search.alerting.watches import Watch
from search.client import es_errors
from search.names import IndexNames

__all__ = ["SpikeCheck", "SpikeReport", "daily_mentions", "evaluate", "raise_spike_alerts", "spike_alert_id"]

MAX_GROUPS = 10_000


@dataclass(frozen=True, kw_only=True)
class SpikeCheck:
    """One group's day: its count against the window before it."""

    group_id: str
    day: str  # YYYY-MM-DD (UTC)
    count: int
    mean: float
    std: float
    threshold: float  # mean + k * std
    k: float
    min_count: int
    window_days: int

    @property
    def is_spike(self) -> bool:
        return self.count >= self.min_count and self.count > self.threshold

    def numbers(self) -> dict[str, Any]:
        return {**asdict(self), "mean": round(self.mean, 3), "std": round(self.std, 3),
                "threshold": round(self.threshold, 3)}  # fmt: skip


@dataclass(kw_only=True)
class SpikeReport:
    checks: list[SpikeCheck] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # spike alerts raised now
    existing: int = 0  # spikes already raised today (an earlier pass)
    failed: dict[str, str] = field(default_factory=dict)


def spike_alert_id(group_id: str, day: str) -> str:
    return hashlib.sha256(f"spike\x1f{group_id}\x1f{day}".encode()).hexdigest()[:32]


def evaluate(group_id: str, counts: Sequence[int], *, day: str, k: float, min_count: int) -> SpikeCheck:
    """``counts``: the window's days, oldest first, then today (the last value)."""
    *window, today = counts
    mean = sum(window) / len(window) if window else 0.0
    std = math.sqrt(sum((c - mean) ** 2 for c in window) / len(window)) if window else 0.0
    return SpikeCheck(
        group_id=group_id, day=day, count=today, mean=mean, std=std, threshold=mean + k * std, k=k,
        min_count=min_count, window_days=len(window),
    )  # fmt: skip


def daily_mentions(
    es: Elasticsearch, names: IndexNames, group_ids: Sequence[str], *, today: date, window_days: int
) -> dict[str, list[int]]:
    """{group id: mentions per UTC day, the ``window_days`` days before ``today`` then today}."""
    start = datetime.combine(today - timedelta(days=window_days), time(0), tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=UTC)
    span = {"gte": start.isoformat(), "lt": end.isoformat()}
    query = {
        "bool": {
            "filter": [{"terms": {"group_ids": sorted(group_ids)}}],
            "should": [
                {"range": {"published_at": span}},
                {"bool": {"must_not": [{"exists": {"field": "published_at"}}], "filter": [
                    {"range": {"indexed_at": span}}]}},
            ],
            "minimum_should_match": 1,
        }
    }  # fmt: skip
    bounds = {"min": start.date().isoformat(), "max": today.isoformat()}
    hard = {"min": start.date().isoformat(), "max": (today + timedelta(days=1)).isoformat()}  # whole buckets

    def per_day(field_name: str) -> dict[str, Any]:
        # hard_bounds as well: the query's window already holds the dates, the histogram holds its own too
        return {"date_histogram": {"field": field_name, "calendar_interval": "day", "format": "yyyy-MM-dd",
                                   "min_doc_count": 0, "extended_bounds": bounds, "hard_bounds": hard}}  # fmt: skip

    aggs = {
        "groups": {
            "terms": {"field": "group_ids", "size": min(len(group_ids), MAX_GROUPS), "include": sorted(group_ids)},
            "aggs": {
                "published": {"filter": {"exists": {"field": "published_at"}}, "aggs": {"d": per_day("published_at")}},
                "undated": {"filter": {"bool": {"must_not": [{"exists": {"field": "published_at"}}]}},
                            "aggs": {"d": per_day("indexed_at")}},
            },
        }
    }  # fmt: skip
    with es_errors("counting group mentions per day"):
        response = es.search(index=names.articles, query=query, size=0, aggs=aggs, track_total_hits=False)
    days = [(start.date() + timedelta(days=n)).isoformat() for n in range(window_days + 1)]
    out = {gid: [0] * len(days) for gid in group_ids}
    position = {d: n for n, d in enumerate(days)}
    for bucket in response["aggregations"]["groups"]["buckets"]:
        counts = out.setdefault(str(bucket["key"]), [0] * len(days))
        for part in ("published", "undated"):
            for b in bucket[part]["d"]["buckets"]:
                if b["key_as_string"] in position:
                    counts[position[b["key_as_string"]]] += int(b["doc_count"])
    return out


def raise_spike_alerts(
    es: Elasticsearch,
    names: IndexNames,
    watches: Sequence[Watch],
    *,
    now: datetime,
    k: float,
    min_count: int,
    window_days: int = 14,
) -> SpikeReport:
    """Check every group watch in ``watches`` (the awake ones) and raise today's spike alerts, once per group."""
    groups = {w.group_id: w for w in watches if w.kind == "group" and w.group_id and w.enabled}
    report = SpikeReport()
    if not groups:
        return report
    today = now.astimezone(UTC).date()
    counts = daily_mentions(es, names, sorted(groups), today=today, window_days=window_days)
    docs = []
    for gid, watch in sorted(groups.items()):
        check = evaluate(gid, counts.get(gid, [0] * (window_days + 1)), day=today.isoformat(), k=k,
                         min_count=min_count)  # fmt: skip
        report.checks.append(check)
        if check.is_spike:
            docs.append(_spike_doc(watch, check, now))
    if docs:
        _create(es, names, docs, report)
    return report


def _spike_doc(watch: Watch, check: SpikeCheck, now: datetime) -> dict[str, Any]:
    name = watch.group_name or watch.group_id or watch.name
    title = (
        f"Spike: {check.count} mentions of {name} on {check.day} "
        f"(mean {check.mean:.1f}, sd {check.std:.1f} over {check.window_days} days; threshold {check.threshold:.1f})"
    )
    return {
        "id": spike_alert_id(str(check.group_id), check.day),
        "watch": {"id": f"spike-{watch.group_id}", "name": f"spike: {name}", "kind": "spike"},
        "group": {"id": watch.group_id, "name": name},
        "title": title,
        "passage": title,
        "created_at": now.isoformat(),
        "spike": check.numbers(),
        "also_seen": [],
        "deliveries": [{"channel": c, "state": "pending", "attempts": 0} for c in dict.fromkeys(watch.channels)],
    }


def _create(es: Elasticsearch, names: IndexNames, docs: list[dict[str, Any]], report: SpikeReport) -> None:
    create_alert_docs(es, names, [(str(d["id"]), d) for d in docs], report, action="creating spike alerts")
