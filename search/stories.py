"""Story state in Elasticsearch: each article carries its story and its LSH band keys.

The clustering itself (``enrich/stories.py``) needs, for a batch of new articles, every earlier article that
shares one of their band keys. Rather than an in-memory LSH index rebuilt on start, the band keys are a
``keyword`` array on the article document (``story_bands``) and its MinHash signature a ``binary`` field
(``story_sig``): one ``terms`` query finds the candidates. So the state is wherever the articles are: it
survives restarts, is the same for every Airflow shard and every pass, and costs no start-up time or memory
that grows with the archive. ``EsStoryStore`` fits ``enrich.stories.StoryStore`` structurally.

Also here: how many sources and copies each story has (for search rows and alerts).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.names import IndexNames

KEYS_PER_QUERY = 4096  # far below index.max_terms_count (65,536)
MAX_CANDIDATES = 2000  # per query: a story syndicated everywhere must not make one lookup unbounded
_FIELDS = ["id", "story_id", "story_sig", "story_first_seen"]


@dataclass(frozen=True, kw_only=True)
class StoryMember:
    """An indexed article as the clustering sees it."""

    article_id: str
    story_id: str
    signature: bytes
    story_first_seen: str | None


class EsStoryStore:
    """Candidates for the clustering: indexed articles sharing a band key (refreshed first, so the previous
    batch's articles are seen)."""

    def __init__(self, es: Elasticsearch, names: IndexNames, *, refresh: bool = True) -> None:
        self.es = es
        self.names = names
        self.refresh = refresh

    def members_sharing(self, keys: Sequence[str], *, exclude: Sequence[str] = ()) -> list[StoryMember]:
        if not keys:
            return []
        if self.refresh:
            with es_errors("refreshing articles before story lookup"):
                self.es.indices.refresh(index=self.names.articles)
        found: dict[str, StoryMember] = {}
        unique = sorted(set(keys))
        for start in range(0, len(unique), KEYS_PER_QUERY):
            for member in self._lookup(unique[start : start + KEYS_PER_QUERY], exclude):
                found.setdefault(member.article_id, member)
        return list(found.values())

    def _lookup(self, keys: list[str], exclude: Sequence[str]) -> list[StoryMember]:
        query: dict[str, Any] = {
            "bool": {
                "filter": [{"terms": {"story_bands": keys}}, {"exists": {"field": "story_id"}}],
                "must_not": [{"ids": {"values": list(exclude)}}] if exclude else [],
            }
        }
        with es_errors("looking up stories sharing band keys"):
            response = self.es.search(
                index=self.names.articles, query=query, size=MAX_CANDIDATES, source_includes=_FIELDS,
                sort=[{"story_first_seen": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
                track_total_hits=False,
            )  # fmt: skip
        out = []
        for hit in response["hits"]["hits"]:
            src = hit["_source"]
            if not src.get("story_sig"):
                continue
            out.append(
                StoryMember(
                    article_id=hit["_id"],
                    story_id=str(src["story_id"]),
                    signature=base64.b64decode(src["story_sig"]),
                    story_first_seen=src.get("story_first_seen"),
                )
            )
        return out


def story_fields(
    story_id: str, story_first_seen: str | None, band_keys: Sequence[str], signature: bytes
) -> dict[str, Any]:
    """The article-document fields that hold one article's story state."""
    return {
        "story_id": story_id,
        "story_first_seen": story_first_seen,
        "story_bands": list(band_keys),
        "story_sig": base64.b64encode(signature).decode("ascii"),
    }


@dataclass(frozen=True, kw_only=True)
class StorySummary:
    story_id: str
    copies: int
    sources: list[str]
    first_seen: str | None
    languages: list[str] = field(default_factory=list)  # of its reports, most reports first


def story_summaries(es: Elasticsearch, names: IndexNames, story_ids: Sequence[str]) -> dict[str, StorySummary]:
    """{story id: copies, distinct sources, first seen, languages} for ``story_ids`` (one aggregation)."""
    unique = sorted(set(story_ids))
    if not unique:
        return {}
    aggs = {
        "stories": {
            "terms": {"field": "story_id", "size": len(unique)},
            "aggs": {
                "sources": {"terms": {"field": "source", "size": 50}},
                "languages": {"terms": {"field": "language", "size": 10}},
                "first_seen": {"min": {"field": "story_first_seen"}},
                "first_fetched": {"min": {"field": "fetched_at"}},
            },
        }
    }
    with es_errors("summarising stories"):
        response = es.search(
            index=names.articles, query={"terms": {"story_id": unique}}, size=0, aggs=aggs, track_total_hits=False
        )
    out: dict[str, StorySummary] = {}
    for bucket in response["aggregations"]["stories"]["buckets"]:
        first = bucket["first_seen"].get("value_as_string") or bucket["first_fetched"].get("value_as_string")
        out[str(bucket["key"])] = StorySummary(
            story_id=str(bucket["key"]),
            copies=int(bucket["doc_count"]),
            sources=[str(b["key"]) for b in bucket["sources"]["buckets"]],
            first_seen=first,
            languages=[str(b["key"]) for b in bucket["languages"]["buckets"]],
        )
    return out


_REPORT_FIELDS = ["title", "url", "source", "language", "published_at"]


def other_language_reports(
    es: Elasticsearch, names: IndexNames, story_id: str, language: str | None, *, limit: int = 20
) -> list[dict[str, Any]]:
    """The reports of story ``story_id`` in a language other than ``language`` (id, title, url, source,
    language, published_at), earliest published first: the cross-language join's other reports of one event."""
    must_not: list[dict[str, Any]] = [{"term": {"language": language}}] if language else []
    query = {"bool": {"filter": [{"term": {"story_id": story_id}}, {"exists": {"field": "language"}}],
                      "must_not": must_not}}  # fmt: skip
    with es_errors("listing the story's reports in other languages"):
        found = es.search(
            index=names.articles, query=query, size=limit, source_includes=_REPORT_FIELDS, track_total_hits=False,
            sort=[{"published_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
        )  # fmt: skip
    return [{"id": hit["_id"], **hit["_source"]} for hit in found["hits"]["hits"]]
