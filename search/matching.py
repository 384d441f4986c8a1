"""Run watches against articles: which (watch, article) pairs match, with the passage and forms that matched.

Every enabled watch's query runs restricted to the batch's ids (an ``ids`` filter) and to articles indexed
after the watch was created, all in one ``_msearch`` per chunk of watches. This works on any Elasticsearch 8
cluster (no percolator needed) and costs one search per watch per batch, answered from the batch's few
documents. Group watches take their passage from the tagger's mention offsets; query watches from
Elasticsearch's highlighter. Matched words are wrapped in ``«`` ``»`` in ``passage``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from search.client import RETRY_ON_STATUS, es_errors
from search.errors import SearchUnavailable
from search.names import IndexNames
from search.watches import Watch

log = logging.getLogger("wirewatch.search.matching")

HIGHLIGHT_START = "«"  # the same markers notify.model reads
HIGHLIGHT_END = "»"
SEARCHES_PER_MSEARCH = 200
IDS_PER_SEARCH = 500
PASSAGE_CHARS = 240
_SOURCE = ["id", "title", "url", "source", "published_at", "indexed_at", "content_hash", "groups"]
_HIGHLIGHT = {
    "pre_tags": [HIGHLIGHT_START],
    "post_tags": [HIGHLIGHT_END],
    "number_of_fragments": 1,
    "fragment_size": PASSAGE_CHARS,
    "no_match_size": 0,
    "fields": {"text": {}, "text.exact": {}, "title": {}, "title.exact": {}},
}
_MARKED = re.compile(re.escape(HIGHLIGHT_START) + "(.*?)" + re.escape(HIGHLIGHT_END))


@dataclass(frozen=True, kw_only=True)
class Match:
    """One article that one watch matched: everything an alert needs, nothing read again later."""

    watch_id: str
    watch_name: str
    watch_kind: str
    channels: tuple[str, ...]
    group_id: str | None
    group_name: str | None
    article_id: str
    title: str
    url: str
    source: str | None
    published_at: str | None
    indexed_at: str | None
    content_hash: str | None
    surface_forms: tuple[str, ...]
    passage: str


def match_articles(
    es: Elasticsearch,
    names: IndexNames,
    article_ids: Sequence[str],
    watches: Sequence[Watch],
    *,
    only_after_creation: bool = True,
) -> list[Match]:
    """Every (watch, article) match among ``article_ids``. Raises SearchUnavailable when any search hit an
    overloaded node (nothing may be skipped silently); a watch whose query the cluster rejects is logged and
    skipped, so one broken watch cannot block the others."""
    active = [w for w in watches if w.enabled]
    matches: list[Match] = []
    for id_chunk in _chunks(list(dict.fromkeys(article_ids)), IDS_PER_SEARCH):
        for watch_chunk in _chunks(active, SEARCHES_PER_MSEARCH):
            searches: list[dict[str, Any]] = []
            for watch in watch_chunk:
                filters: list[dict[str, Any]] = [{"ids": {"values": id_chunk}}]
                if only_after_creation:
                    filters.append({"range": {"indexed_at": {"gte": watch.created_at}}})
                searches += [{"index": names.articles}, _search_body(watch, filters, len(id_chunk))]
            with es_errors("matching watches"):
                found = es.msearch(searches=searches)
            matches += _collect(watch_chunk, found["responses"])
    return matches


def run_watch(es: Elasticsearch, names: IndexNames, watch: Watch, *, limit: int = 20) -> list[Match]:
    """What ``watch`` would have raised over the whole history, newest first (``wirewatch watch test``)."""
    body = _search_body(watch, [], limit)
    body["sort"] = [{"indexed_at": {"order": "desc"}}, {"id": "asc"}]
    with es_errors(f"testing watch {watch.name!r}"):
        found = es.search(index=names.articles, **body)
    return [_to_match(watch, hit) for hit in found["hits"]["hits"]]


def _search_body(watch: Watch, filters: list[dict[str, Any]], size: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": {"bool": {"must": [watch.query], "filter": filters}},
        "size": size,
        "track_total_hits": False,
    }
    if watch.kind == "group":
        body["_source"] = [*_SOURCE, "text"]  # the passage is cut around the tagger's own mention offsets
    else:
        body["_source"] = _SOURCE
        body["highlight"] = _HIGHLIGHT
    return body


def _collect(watches: Sequence[Watch], responses: list[dict[str, Any]]) -> list[Match]:
    out: list[Match] = []
    for watch, response in zip(watches, responses, strict=True):
        if "error" in response:
            status = int(response.get("status", 500))
            reason = response["error"].get("reason", response["error"]) if isinstance(response["error"], dict) else ""
            if status in RETRY_ON_STATUS:
                raise SearchUnavailable(f"Elasticsearch is overloaded ({status}) while matching watches")
            log.warning("watch %r was skipped: Elasticsearch rejected its query: %s", watch.name, reason)
            continue
        out += [_to_match(watch, hit) for hit in response["hits"]["hits"]]
    return out


def _to_match(watch: Watch, hit: dict[str, Any]) -> Match:
    doc = hit["_source"]
    if watch.kind == "group":
        forms, passage = _group_evidence(doc, watch.group_id)
    else:
        forms, passage = _highlight_evidence(hit.get("highlight") or {}, doc)
    return Match(
        watch_id=watch.id,
        watch_name=watch.name,
        watch_kind=watch.kind,
        channels=watch.channels,
        group_id=watch.group_id,
        group_name=watch.group_name,
        article_id=doc.get("id") or hit["_id"],
        title=doc.get("title") or "",
        url=doc.get("url") or "",
        source=doc.get("source"),
        published_at=doc.get("published_at"),
        indexed_at=doc.get("indexed_at"),
        content_hash=doc.get("content_hash"),
        surface_forms=forms,
        passage=passage,
    )


def _highlight_evidence(highlight: dict[str, list[str]], doc: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    fragments = [f for key in ("text.exact", "text", "title.exact", "title") for f in highlight.get(key, [])]
    forms = tuple(dict.fromkeys(m.group(1) for f in fragments for m in _MARKED.finditer(f)))
    passage = fragments[0] if fragments else str(doc.get("title") or "")
    return forms, " ".join(passage.split())


def _group_evidence(doc: dict[str, Any], group_id: str | None) -> tuple[tuple[str, ...], str]:
    group: dict[str, Any] = next((g for g in doc.get("groups") or () if g.get("id") == group_id), {})
    forms = tuple(group.get("surface_forms") or ())
    text = str(doc.get("text") or "")
    for mention in group.get("mentions") or ():
        start, end = int(mention.get("start", -1)), int(mention.get("end", -1))
        if 0 <= start < end <= len(text):
            return forms, passage_around(text, start, end)
    for form in forms:  # offsets missing or from another text version: find the form itself
        at = text.find(form)
        if at >= 0:
            return forms, passage_around(text, at, at + len(form))
    return forms, str(doc.get("title") or "")


def passage_around(text: str, start: int, end: int, *, width: int = PASSAGE_CHARS) -> str:
    """About ``width`` characters of ``text`` around [start, end), cut at spaces, the match marked « »."""
    room = max(0, width - (end - start)) // 2
    left, right = max(0, start - room), min(len(text), end + room)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space >= 0 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space >= 0 else right
    marked = text[left:start] + HIGHLIGHT_START + text[start:end] + HIGHLIGHT_END + text[end:right]
    marked = " ".join(marked.split())
    return ("…" if left > 0 else "") + marked + ("…" if right < len(text) else "")


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]
