"""The HTTP API's response bodies as pydantic models, for the OpenAPI description (``/api/v1/openapi.json``), so
a client can be generated from it.

Each route names its model with ``responses=ok(Model)``: the description gains the schema, while the route
keeps returning the JSON it always did (no response validation in the request path). Models allow extra keys:
an article or an alert is the stored document, which gains fields as the pipeline does; the named fields are
those a client can count on. ``tests/test_web_openapi.py`` fails for any ``/api/`` route without a response
schema, and checks real answers against these models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="allow")


def ok(model: Any, status: int = 200, **errors: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route answering ``model`` (a model or ``list[Model]``), and 400 with an ErrorBody."""
    return {status: {"model": model}, 400: {"model": ErrorBody, "description": "A parameter that cannot be used"}}


def ok_file(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route streaming a file (CSV, JSON lines, a STIX bundle)."""
    return {
        200: {"content": {media_type: {"schema": {"type": "string"}}}, "description": description},
        400: {"model": ErrorBody, "description": "A parameter that cannot be used"},
    }


class ErrorBody(Body):
    error: str = Field(description="What went wrong, in a few words (bad search, query syntax...)")
    message: str = Field("", description="Why, and what to do next")
    field: str | None = Field(None, description="The parameter at fault")
    position: int | None = Field(None, description="0-based character offset of a query syntax error")


class StoryCopy(Body):
    id: str
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: str | None = None
    language: str | None = None


class Story(Body):
    copies: int
    sources: list[str]
    first_seen: str | None = None
    matching: int
    others: list[StoryCopy] = []


class Hit(Body):
    id: str
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: str | None = None
    fetched_at: str | None = None
    groups: list[str] = Field(description="Tracked-group ids")
    group_names: list[str] = []
    score: float | None = None
    title_highlight: str | None = Field(None, description="HTML-escaped, matched terms in <em>")
    passages: list[str] = Field([], description="HTML-escaped passages, matched terms in <em>")
    story_id: str | None = None
    story: Story | None = None
    language: str | None = None
    site_name: str | None = None
    entities: list[str] = Field([], description="TYPE:canonical name")
    places: list[str] = []


class SearchResponse(Body):
    total: int
    collapsed: bool
    stories: int | None = None
    hits: list[Hit]
    facets: dict[str, Any] = Field(description="groups, languages, event_types, sources, places, countries, "
                                   "entities (per type) and dates: lists of {value, count}")  # fmt: skip
    next: str | None = Field(None, description="Pass as `after` for the next page")


class AttentionBucket(Body):
    date: str
    count: int
    total: int
    share: float


class AttentionResponse(Body):
    interval: str
    buckets: list[AttentionBucket]


class CompareSeries(Body):
    query: str
    counts: list[int]
    shares: list[float | None] = Field(description="null for a bucket without any article")


class CompareResponse(Body):
    interval: str
    since: str
    until: str
    dates: list[str]
    totals: list[int]
    series: list[CompareSeries]


class Article(Body):
    id: str
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: str | None = None
    language: str | None = None
    text: str | None = None
    copies: list[dict[str, Any]] = Field([], description="The same content from other sources")
    alerts: list[dict[str, Any]] = Field([], description="The alert documents the article raised")


class Alert(Body):
    id: str | None = None
    article_id: str | None = None
    created_at: str | None = None


class Acknowledgement(Body):
    alert_id: str
    username: str
    at: str
    team: bool = False


class Assignment(Body):
    alert_id: str
    assignee: str | None = Field(description="The workbench user dealing with it; null once unassigned")
    by: str
    at: str


class WatchRow(Body):
    id: str
    name: str
    kind: str = Field(description="query, group or event")
    query: str | None = None
    group_id: str | None = None
    channels: list[str]
    enabled: bool
    created_at: str | None = None
    snoozed_until: str | None = None


class WouldRaise(Body):
    """An alert a watch would have raised (``watch test``)."""


class FeedHealth(Body):
    id: str


class SavedSearch(Body):
    id: str
    username: str
    name: str
    params: str = Field(description="The query string of /api/v1/search")
    created_at: str | None = None


class Deleted(Body):
    deleted: str


class Me(Body):
    username: str
    role: str


class UserRow(Body):
    username: str
    role: str


class EventRow(Body):
    event_date: str | None = Field(None, description="The event's day (from the text, else the publication day)")
    event_type: str | None = None
    sub_event_type: str | None = None
    actor1: str | None = None
    actor2: str | None = None
    country: str | None = None
    admin1: str | None = None
    location: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    fatalities: int | None = None
    wounded: int | None = None
    claim: str | None = None
    source: str | None = None
    source_url: str | None = None
    notes: str | None = Field(None, description="The sentence the event was read from")
    language: str | None = None
    article_id: str
    story_id: str | None = None


class EventSeries(Body):
    interval: str
    days: list[str]
    groups: dict[str, list[int]] = Field(description="Events per day of the most active tracked groups")


class EventsResponse(Body):
    events: list[EventRow]
    series: EventSeries
