"""Date histograms with bounds of their own, so no stored document can break a query for others.

A date histogram makes one bucket per interval between the earliest and the latest date it sees; one article
dated 9999 (or 0001) among articles of this year asks for millions of buckets and Elasticsearch refuses the
whole search (``too_many_buckets_exception``). So every histogram over article dates here is clipped to a
window (``HISTOGRAM_FLOOR`` to now plus a day, narrowed by the analyst's since/until) with ``hard_bounds``, and
its interval is widened until the window fits in ``MAX_BUCKETS`` buckets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

HISTOGRAM_FLOOR = datetime(1990, 1, 1, tzinfo=UTC)  # the ingest stage refuses publication dates before it
FUTURE_SLACK = timedelta(days=1)  # and those later than the fetch plus a day
MAX_BUCKETS = 1000
INTERVALS = ("hour", "day", "week", "month", "quarter", "year")
# the shortest length of each calendar interval, so the bucket count is never underestimated
_SHORTEST_S = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 28 * 86400, "quarter": 89 * 86400,
               "year": 365 * 86400}  # fmt: skip
_LONGEST_S = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400, "quarter": 92 * 86400,
              "year": 366 * 86400}  # fmt: skip


def window(since: datetime | None, until: datetime | None, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The dates a histogram may cover: the analyst's window clipped to [floor, now + a day]."""
    ceiling = (now or datetime.now(UTC)) + FUTURE_SLACK
    low = max(_aware(since), HISTOGRAM_FLOOR) if since else HISTOGRAM_FLOOR
    high = min(_aware(until), ceiling) if until else ceiling
    return low, max(low, high)


def capped_interval(preferred: str, low: datetime, high: datetime) -> str:
    """``preferred``, or the first wider calendar interval that draws ``low``..``high`` in MAX_BUCKETS buckets."""
    span_s = (high - low).total_seconds()
    for name in INTERVALS[INTERVALS.index(preferred) :]:
        if span_s / _SHORTEST_S[name] + 2 <= MAX_BUCKETS:  # +2: partial buckets at both ends
            return name
    return INTERVALS[-1]


def date_histogram(field: str, interval: str, low: datetime, high: datetime, **extra: Any) -> dict[str, Any]:
    """A ``date_histogram`` aggregation that makes no bucket outside ``low``..``high`` (give or take the
    buckets holding them).

    ``hard_bounds`` keeps the buckets that lie whole within it: the bucket holding ``low`` starts before it and
    the one holding ``high`` ends after it, so the bounds reach one interval further on each side. Numbers are
    read as epoch millis whatever the ``format``."""
    reach = _LONGEST_S[interval] * 1000
    bounds = {"min": _millis(low) - reach, "max": _millis(high) + reach}
    return {"date_histogram": {"field": field, "calendar_interval": interval, "hard_bounds": bounds, **extra}}


def range_filter(field: str, low: datetime, high: datetime) -> dict[str, Any]:
    """Documents whose ``field`` lies in ``low``..``high``."""
    return {"range": {field: {"gte": _millis(low), "lte": _millis(high), "format": "epoch_millis"}}}


def _aware(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
