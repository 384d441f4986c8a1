"""Search results as plain records, built from an Elasticsearch response (hits, highlights, facets)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from search.errors import InvalidCursor
from search.mappings import ENTITY_TYPES, LANGUAGE_SUBFIELDS

MAX_PASSAGES = 3
MAX_CURSOR = 512  # characters of an encoded cursor; ours hold a score, a date and an article id (~150)
RESULT_WINDOW = 10_000  # Elasticsearch's index.max_result_window: how deep offset paging (collapsed) can go
_TAG = re.compile(r"</?em>")
# highlighted fields, best first: the exact match, then English, then the other languages' subfields
_TITLE_FIELDS = ("title.exact", "title", *(f"title.{lang}" for lang in LANGUAGE_SUBFIELDS))
_TEXT_FIELDS = ("text.exact", "text", *(f"text.{lang}" for lang in LANGUAGE_SUBFIELDS))


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    id: str
    title: str | None
    url: str | None
    source: str | None
    published_at: str | None
    groups: list[str]
    score: float | None
    # HTML-escaped snippets with every matched term wrapped in <em>...</em>
    title_highlight: str | None = None
    passages: list[str] = field(default_factory=list)
    # the hit's story (search/stories.py); when results are collapsed a hit stands for its whole story
    story_id: str | None = None
    story: StoryInfo | None = None
    language: str | None = None  # ISO 639-1, as stored: pages mark the text with it (lang, right-to-left)
    site_name: str | None = None
    entities: list[str] = field(default_factory=list)  # "TYPE:canonical name", the entity filter's syntax
    fetched_at: str | None = None
    group_names: list[str] = field(default_factory=list)  # the tracked groups' names, as tagged
    places: list[str] = field(default_factory=list)  # the resolved places' names


@dataclass(frozen=True, kw_only=True)
class StoryCopy:
    """Another matching article of a collapsed hit's story."""

    id: str
    title: str | None
    url: str | None
    source: str | None
    published_at: str | None
    language: str | None = None


@dataclass(frozen=True, kw_only=True)
class StoryInfo:
    """What a collapsed row shows: "N sources, first seen ...", expandable to the matching copies."""

    copies: int  # articles in the story
    sources: list[str]  # distinct sources of the story
    first_seen: str | None
    matching: int  # copies matching this search (the row itself included)
    others: list[StoryCopy] = field(default_factory=list)  # the other matching copies, first seen first
    languages: list[str] = field(default_factory=list)  # of the story's reports (several: joined across languages)

    def describe(self) -> str:
        sources = f"{len(self.sources)} source{'s' if len(self.sources) != 1 else ''}"
        if len(self.languages) > 1:
            sources += f" in {', '.join(self.languages)}"
        return f"{sources}, first seen {self.first_seen[:16].replace('T', ' ')}" if self.first_seen else sources


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    total: int
    hits: list[SearchHit]
    facets: dict[str, Any]
    next: str | None  # opaque cursor for the following page; None on the last page
    collapsed: bool = False  # one hit per story
    stories: int | None = None  # matching stories (when collapsed; ``total`` counts articles)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "collapsed": self.collapsed,
            "stories": self.stories,
            "hits": [asdict(h) for h in self.hits],
            "facets": self.facets,
            "next": self.next,
        }


def to_hit(raw: dict[str, Any]) -> SearchHit:
    source = raw.get("_source", {})
    highlight = raw.get("highlight", {})
    titles = next((highlight[f] for f in _TITLE_FIELDS if highlight.get(f)), [None])
    return SearchHit(
        id=raw["_id"],
        title=source.get("title"),
        url=source.get("url"),
        source=source.get("source"),
        published_at=source.get("published_at"),
        groups=list(source.get("group_ids") or []),
        score=raw.get("_score"),
        title_highlight=titles[0],
        passages=merge_passages(*(highlight.get(f, []) for f in _TEXT_FIELDS)),
        story_id=source.get("story_id"),
        language=source.get("language"),
        site_name=source.get("site_name"),
        entities=entity_labels(source.get("entity_names")),
        fetched_at=source.get("fetched_at"),
        group_names=[str(g["name"]) for g in source.get("groups") or () if isinstance(g, dict) and g.get("name")],
        places=[str(p["name"]) for p in source.get("places") or () if isinstance(p, dict) and p.get("name")],
    )


def entity_labels(entity_names: Any) -> list[str]:
    """``{"gpe": ["Gao"], ...}`` (the stored ``entity_names``) as ``["GPE:Gao", ...]``, in ENTITY_TYPES order."""
    if not isinstance(entity_names, dict):
        return []
    return [f"{t}:{name}" for t in ENTITY_TYPES for name in entity_names.get(t.lower()) or () if name]


def story_copies(raw: dict[str, Any], inner: str) -> tuple[int, list[StoryCopy]]:
    """(matching copies, the others) from a collapsed hit's inner hits named ``inner``."""
    found = raw.get("inner_hits", {}).get(inner, {}).get("hits", {})
    others = [_copy(h) for h in found.get("hits", []) if h["_id"] != raw["_id"]]
    return int(found.get("total", {}).get("value", 1)), others


def merge_passages(*lists: list[str]) -> list[str]:
    """Passages from the exact and the stemmed field, without repeating the same stretch of text.

    A passage without marks (the article's opening, shown when nothing matched) is kept only when no
    passage has marks.
    """
    seen: dict[str, str] = {}
    marked = any("<em>" in p for passages in lists for p in passages)
    for passages in lists:
        for passage in passages:
            if marked and "<em>" not in passage:
                continue
            plain = _TAG.sub("", passage)
            if plain not in seen or passage.count("<em>") > seen[plain].count("<em>"):
                seen[plain] = passage
    return list(seen.values())[:MAX_PASSAGES]


# place id -> its names and country ({"name", "name_fr", "name_ar", "country"}), None for an unknown id: the
# caller's place table (the stage does not read it), so the place facet needs no top_hits per bucket
PlaceDescriber = Callable[[str], dict[str, Any] | None]


def to_facets(aggs: dict[str, Any], interval: str, describe: PlaceDescriber | None = None) -> dict[str, Any]:
    return {
        "groups": _buckets(aggs["groups"]),
        "event_types": [
            {"value": b["key"], "count": b["articles"]["doc_count"]} for b in aggs["events"]["types"]["buckets"]
        ],
        "entities": {t: _buckets(aggs[f"entity_{t.lower()}"]) for t in ENTITY_TYPES},
        "sources": _buckets(aggs["sources"]),
        "languages": _buckets(aggs["languages"]),
        "places": [_place_bucket(b, describe) for b in aggs["places"]["ids"]["buckets"]],
        "countries": _buckets(aggs["place_countries"]),
        "dates": {
            "interval": interval,
            "buckets": [{"date": b["key_as_string"], "count": b["doc_count"]} for b in aggs["dates"]["buckets"]],
        },
    }


def _place_bucket(bucket: dict[str, Any], describe: PlaceDescriber | None) -> dict[str, Any]:
    """A place facet entry: its id, names in the three languages, country (None without ``describe`` or for an
    id the table no longer has), and the articles naming it."""
    place = (describe(bucket["key"]) if describe else None) or {}
    fields = ("name", "name_fr", "name_ar", "country")
    return {"value": bucket["key"], **{k: place.get(k) for k in fields}, "count": bucket["articles"]["doc_count"]}


def _buckets(agg: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"value": b["key"], "count": b["doc_count"]} for b in agg["buckets"]]


def encode_cursor(sort: str, values: list[Any]) -> str:
    raw = json.dumps({"s": sort, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _copy(raw: dict[str, Any]) -> StoryCopy:
    src = raw.get("_source", {})
    return StoryCopy(
        id=raw["_id"],
        title=src.get("title"),
        url=src.get("url"),
        source=src.get("source"),
        published_at=src.get("published_at"),
        language=src.get("language"),
    )


def encode_offset_cursor(sort: str, offset: int) -> str:
    """The cursor of a collapsed search: collapsing cannot page with search_after on these sorts."""
    raw = json.dumps({"s": sort, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_offset_cursor(cursor: str, sort: str) -> int:
    """The offset inside a collapsed search's cursor; InvalidCursor for any other cursor."""
    data = _cursor_data(cursor, sort)
    offset = data.get("o")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidCursor("the --after cursor is from a search with --no-collapse: page with the same options")
    if offset >= RESULT_WINDOW:
        raise InvalidCursor(f"the --after cursor points past the {RESULT_WINDOW:,}th story, the deepest a page goes")
    return offset


def _cursor_data(cursor: str, sort: str) -> dict[str, Any]:
    # a cursor we print is a flat object of a few short values: anything longer is refused before decoding,
    # and deep nesting (which makes json.loads recurse until RecursionError) with it
    if len(cursor) > MAX_CURSOR:
        raise InvalidCursor(f"the --after cursor is longer than any this command prints ({MAX_CURSOR} characters)")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise InvalidCursor("the --after cursor is not one this command printed") from exc
    if not isinstance(data, dict):
        raise InvalidCursor("the --after cursor is not one this command printed")
    if data.get("s") != sort:
        raise InvalidCursor(f"the --after cursor belongs to --sort {data.get('s')}, not --sort {sort}")
    return data


def decode_cursor(cursor: str, sort: str, width: int) -> list[Any]:
    """The sort values inside ``cursor``; InvalidCursor unless it came from a search with this sort order."""
    values = _cursor_data(cursor, sort).get("v")
    if not isinstance(values, list) or len(values) != width or any(isinstance(v, dict | list) for v in values):
        raise InvalidCursor("the --after cursor is not one this command printed")
    return values
