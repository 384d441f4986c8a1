"""Attention over time, compared: up to five series (queries or groups: ``group:jnim``) on one chart, per day
or week, counts or share of all articles, by publication date. ``/compare`` (the page: chart, table, links to
the CSV and JSON) and ``/api/v1/compare`` (JSON, or CSV with ``format=csv``).

The URL holds the state (``s`` repeated, ``since``, ``until``, ``interval``, ``y``). Without dates the window
is the 90 days up to the latest article published (never a future date, never stretched by one old outlier);
``until`` is clipped to now. Each bar links to the search for its series and bucket.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from wirewatch.places import locate_place
from wirewatch.web import backend
from wirewatch.web.backend import MAX_SERIES, Comparison, QuerySyntaxError, SearchRequest
from wirewatch.web.compare_chart import COLOURS, compare_svg
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.exporting import starts_formula
from wirewatch.web.schemas import CompareResponse, ok
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User

router = APIRouter()
DEFAULT_SPAN = timedelta(days=90)
DAILY_UP_TO = timedelta(days=120)  # longer windows are drawn per week unless the analyst asks for days
MAX_BUCKETS = 600  # bars per series: 600 days, or 11 years per week


@dataclass
class CompareState:
    series: list[str] = field(default_factory=list)
    since: str = ""
    until: str = ""
    interval: str = ""  # "", "day" or "week": "" chooses from the window
    y: str = "count"  # "count" or "share"

    def query_string(self, **changes: Any) -> str:
        pairs = [("s", s) for s in self.series]
        pairs += [(k, v) for k, v in (("since", self.since), ("until", self.until), ("interval", self.interval)) if v]
        pairs += [("y", self.y)] if self.y != "count" else []
        for key, value in changes.items():
            pairs = [(k, v) for k, v in pairs if k != key] + ([(key, value)] if value else [])
        return urlencode(pairs)


class BadComparison(ValueError):
    def __init__(self, message: str, *, field: str, series: int | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.field, self.series, self.position = field, series, position


@dataclass(frozen=True)
class Chart:
    comparison: Comparison
    since: datetime
    until: datetime


def compare_state(
    s: list[str] | None = Query(None, description="A series: a query (group:jnim, kidnapping lang:fr); up to 5"),
    since: str = Query("", description="From: 90d, 2026-09-01... (default: 90 days before `until`)"),
    until: str = Query("", description="To (inclusive, at most today; default: the latest publication date)"),
    interval: Literal["", "day", "week"] = Query("", description="day or week (default: day up to 120 days)"),
    y: Literal["count", "share"] = Query("count", description="Bars: articles, or share of all articles"),
) -> CompareState:
    given = [v.strip() for v in s or () if v.strip()]
    return CompareState(series=list(dict.fromkeys(given)), since=since.strip(), until=until.strip(),
                        interval=interval, y=y)  # fmt: skip


_STATE = Depends(compare_state)


def chart_for(ctx: WebContext, state: CompareState, *, now: datetime | None = None) -> Chart:
    """The comparison the state asks for; BadComparison (which field, which series, where) otherwise."""
    if not state.series:
        raise BadComparison("give at least one series: a query such as group:jnim", field="s")
    if len(state.series) > MAX_SERIES:
        raise BadComparison(f"compare at most {MAX_SERIES} series, not {len(state.series)}", field="s")
    values = ctx.field_values()
    queries = []
    for i, text in enumerate(state.series):
        try:
            values.check_query(text)
            req = SearchRequest(query=text, locate=locate_place, resolve_group=values.groups.resolve)
            queries.append(backend.build_query(req))
        except QuerySyntaxError as exc:
            raise BadComparison(exc.reason, field="s", series=i, position=exc.position) from exc
    since, until = _window(ctx, state, now or datetime.now(UTC))
    interval = state.interval or ("day" if until - since <= DAILY_UP_TO else "week")
    width = timedelta(days=1 if interval == "day" else 7)
    if (until - since) / width > MAX_BUCKETS:
        raise BadComparison(f"at most {MAX_BUCKETS} {interval}s: shorten the range or choose per week", field="since")
    comparison = backend.compare(ctx.es, ctx.names, queries, since=since, until=until, interval=interval)
    return Chart(comparison, since, until)


def _window(ctx: WebContext, state: CompareState, now: datetime) -> tuple[datetime, datetime]:
    end_of_today = datetime.combine(now.date(), time.max, tzinfo=UTC)
    try:
        until = backend.parse_when(state.until, end_of_day=True) if state.until else None
    except ValueError as exc:
        raise BadComparison(str(exc), field="until") from exc
    if until is None:
        latest = backend.latest_published(ctx.es, ctx.names, now=now) or now
        until = datetime.combine(latest.date(), time.max, tzinfo=UTC)
    until = min(until, end_of_today)  # no future dates
    try:
        since = backend.parse_when(state.since) if state.since else None
    except ValueError as exc:
        raise BadComparison(str(exc), field="since") from exc
    since = since or datetime.combine((until - DEFAULT_SPAN).date(), time.min, tzinfo=UTC)
    if since > until:
        raise BadComparison("`since` is after `until`", field="since")
    return since, until


def bucket_search(series: str, day: str, interval: str) -> str:
    """The search a bar counts: the series' query over the bucket's days."""
    start = datetime.fromisoformat(day)
    end = start + timedelta(days=0 if interval == "day" else 6)
    return "/search?" + urlencode({"q": series, "since": day, "until": end.date().isoformat()})


@router.get("/compare", include_in_schema=False)
def compare_page(
    request: Request, state: CompareState = _STATE, user: User = VIEWER, ctx: WebContext = CTX
) -> Response:
    values: dict[str, Any] = {"state": state, "error": None, "chart": None, "colours": COLOURS,
                              "max_series": MAX_SERIES}  # fmt: skip
    if not state.series:
        return ctx.page(request, "compare.html", **values)
    try:
        chart = chart_for(ctx, state)
    except BadComparison as exc:
        values["error"] = {"field": exc.field, "series": exc.series, "position": exc.position, "message": str(exc)}
        return ctx.page(request, "compare.html", status_code=400, **values)
    comparison = chart.comparison
    values["chart"] = chart
    values["svg"] = compare_svg(
        comparison, state.series, lambda i, b: bucket_search(state.series[i], comparison.dates[b], comparison.interval),
        share=state.y == "share",
    )  # fmt: skip
    values["rows"] = _rows(state, comparison)
    return ctx.page(request, "compare.html", **values)


def _rows(state: CompareState, comparison: Comparison) -> list[dict[str, Any]]:
    rows = []
    for b, day in enumerate(comparison.dates):
        cells = []
        for i, series in enumerate(state.series):
            share = comparison.share(i, b)
            cells.append({"count": comparison.counts[i][b], "share": share,
                          "href": bucket_search(series, day, comparison.interval)})  # fmt: skip
        rows.append({"date": day, "total": comparison.totals[b], "cells": cells})
    return rows


@router.get(
    "/api/v1/compare", summary="Attention over time for up to 5 series", tags=["search"], responses=ok(CompareResponse)
)
def compare_api(
    state: CompareState = _STATE,
    format: Literal["json", "csv"] = "json",
    user: User = VIEWER,
    ctx: WebContext = CTX,
) -> Any:
    """`{"interval", "since", "until", "dates", "totals", "series": [{"query", "counts", "shares"}]}`: per
    bucket, every article published and those matching each series (a share is null for a bucket without
    articles). `format=csv`: one row per bucket, `date,all_articles,<series> count,<series> share...`."""
    try:
        chart = chart_for(ctx, state)
    except BadComparison as exc:
        body = {"error": "bad comparison", "field": exc.field, "series": exc.series, "position": exc.position,
                "message": str(exc)}  # fmt: skip
        return JSONResponse(body, status_code=400)
    c = chart.comparison
    if format == "csv":
        return Response(_csv(state.series, c), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="wirewatch-compare.csv"'})  # fmt: skip
    return {
        "interval": c.interval, "since": chart.since.isoformat(), "until": chart.until.isoformat(),
        "dates": c.dates, "totals": c.totals,
        "series": [{"query": q, "counts": c.counts[i], "shares": [_round(c.share(i, b)) for b in range(len(c.dates))]}
                   for i, q in enumerate(state.series)],
    }  # fmt: skip


def _round(share: float | None) -> float | None:
    return None if share is None else round(share, 4)


def _csv(series: list[str], c: Comparison) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheets read the labels (French, Arabic) as UTF-8 only with it
    writer = csv.writer(out)
    header = ["date", "all_articles", *(f"{q} {what}" for q in series for what in ("count", "share"))]
    writer.writerow(["'" + h if starts_formula(h) else h for h in header])  # a query may start with - or +
    for b, day in enumerate(c.dates):
        cells: list[Any] = [day, c.totals[b]]
        for i in range(len(series)):
            share = c.share(i, b)
            cells += [c.counts[i][b], "" if share is None else f"{share:.4f}"]
        writer.writerow(cells)
    return out.getvalue()
