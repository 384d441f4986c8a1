"""Candidates for the cross-language story join (``enrich/crossstory.py`` decides): indexed articles with an
event at one of the given place ids, published within a window, in another language, with a story.

One plain query on the flat ``place_ids`` and the nested ``events.place.id``; the comparison of types, groups,
days and tolls happens on the returned events, so the query only has to be generous enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.names import IndexNames

MAX_CANDIDATES = 200  # one place and a few days: a busy town's week of reports, not the archive
_FIELDS = ["story_id", "story_first_seen", "language", "published_at", "events"]


@dataclass(frozen=True, kw_only=True)
class SignalCandidate:
    article_id: str
    story_id: str
    story_first_seen: str | None
    language: str | None
    published_at: str | None
    events: list[dict[str, Any]]


def signal_candidates(
    es: Elasticsearch,
    names: IndexNames,
    place_ids: Sequence[str],
    published: date,
    *,
    window_days: int,
    language: str | None,
    exclude: Sequence[str] = (),
) -> list[SignalCandidate]:
    """Articles with an event at one of ``place_ids``, published within ``window_days`` of ``published``, in
    a language other than ``language``, oldest story first."""
    if not place_ids:
        return []
    unique = sorted(set(place_ids))
    since, until = published - timedelta(days=window_days), published + timedelta(days=window_days + 1)
    must_not: list[dict[str, Any]] = [{"ids": {"values": list(exclude)}}] if exclude else []
    if language:
        must_not.append({"term": {"language": language}})
    query: dict[str, Any] = {
        "bool": {
            "filter": [
                {"terms": {"place_ids": unique}},
                {"nested": {"path": "events", "query": {"terms": {"events.place.id": unique}}}},
                {"range": {"published_at": {"gte": since.isoformat(), "lt": until.isoformat()}}},
                {"exists": {"field": "story_id"}},
            ],
            "must_not": must_not,
        }
    }
    with es_errors("looking up other-language reports of the same event"):
        response = es.search(
            index=names.articles, query=query, size=MAX_CANDIDATES, source_includes=_FIELDS,
            sort=[{"story_first_seen": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
            track_total_hits=False,
        )  # fmt: skip
    return [
        SignalCandidate(
            article_id=hit["_id"],
            story_id=str(hit["_source"]["story_id"]),
            story_first_seen=hit["_source"].get("story_first_seen"),
            language=hit["_source"].get("language"),
            published_at=hit["_source"].get("published_at"),
            events=list(hit["_source"].get("events") or ()),
        )
        for hit in response["hits"]["hits"]
    ]
