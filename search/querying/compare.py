"""Attention over time for several series at once: articles per day or week matching each of up to
``MAX_SERIES`` queries, and all articles, by publication date, in one aggregation request.

One ``date_histogram`` over the window, with a ``filters`` sub-aggregation holding every series' query: the
bucket's own count is every article published that day (the denominator of the share), each filter's count the
series'. A five-series chart is then one search whatever the number of series, and the days without articles are
zero buckets (``extended_bounds``), never missing bars that would stretch the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.names import IndexNames
from search.querying.histogram import date_histogram, range_filter

MAX_SERIES = 5
INTERVALS = ("day", "week")


@dataclass(frozen=True)
class Comparison:
    interval: str  # "day" or "week"
    dates: list[str]  # each bucket's first day, YYYY-MM-DD
    totals: list[int]  # every article published in the bucket
    counts: list[list[int]]  # per series, per bucket

    def share(self, series: int, bucket: int) -> float | None:
        """The series' share of all articles in the bucket; None for a bucket without any article."""
        total = self.totals[bucket]
        return self.counts[series][bucket] / total if total else None


def latest_published(es: Elasticsearch, names: IndexNames, *, now: datetime) -> datetime | None:
    """The latest publication date not after ``now`` (an article dated in the future never sets the window)."""
    with es_errors("finding the latest publication date"):
        found = es.search(
            index=names.articles, size=0, track_total_hits=False,
            query={"range": {"published_at": {"lte": int(now.timestamp() * 1000), "format": "epoch_millis"}}},
            aggs={"high": {"max": {"field": "published_at"}}},
        )  # fmt: skip
    stamp = found["aggregations"]["high"].get("value_as_string")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def compare(
    es: Elasticsearch, names: IndexNames, queries: Sequence[dict[str, Any]], *, since: datetime, until: datetime,
    interval: str,
) -> Comparison:  # fmt: skip
    """Per ``interval`` from ``since`` to ``until`` (both inclusive): all articles, and those matching each query."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    if not 0 < len(queries) <= MAX_SERIES:
        raise ValueError(f"compare 1 to {MAX_SERIES} series, not {len(queries)}")
    low, high = _aware(since), _aware(until)
    histogram = date_histogram("published_at", interval, low, high, format="yyyy-MM-dd", min_doc_count=0)
    histogram["date_histogram"]["extended_bounds"] = {"min": _millis(low), "max": _millis(high)}
    histogram["aggs"] = {"s": {"filters": {"filters": {f"s{i}": q for i, q in enumerate(queries)}}}}
    with es_errors("comparing attention over time"):
        found = es.search(
            index=names.articles, size=0, track_total_hits=False, query=range_filter("published_at", low, high),
            aggs={"d": histogram},
        )  # fmt: skip
    buckets = found["aggregations"]["d"]["buckets"]
    return Comparison(
        interval=interval,
        dates=[b["key_as_string"] for b in buckets],
        totals=[int(b["doc_count"]) for b in buckets],
        counts=[[int(b["s"]["buckets"][f"s{i}"]["doc_count"]) for b in buckets] for i in range(len(queries))],
    )


def _aware(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
