"""Run watches against articles: which (watch, article) pairs match, with the passage and forms that matched.

Every enabled watch's query runs restricted to the batch's ids (an ``ids`` filter) and to articles indexed
after the watch was created. This works on any Elasticsearch 8 cluster (no percolator needed). Step one asks
which pairs match: up to NAMED_PER_SEARCH watches per search as named ``should`` clauses (``matched_queries``
says which matched each article), so 1,000 watches cost 10 small searches per batch. Step two runs only the
watches that matched, restricted to their articles, for the passage. Group watches take their passage from the
tagger's mention offsets; query watches from Elasticsearch's highlighter. Matched words are wrapped in ``«``
``»`` in ``passage``.

A node under load refuses single searches of an ``_msearch`` (429 items) and answers the others: only the
refused ones are sent again (ITEM_RETRIES times, with backoff), and those still refused then are named in
``MatchingRefused`` with everything the others found, so one refused search never holds back every watch."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from search.alerting.docterms import evaluate_watches
from search.alerting.watches import Watch
from search.client import RETRY_ON_STATUS, es_errors
from search.errors import MatchingRefused, SearchError
from search.names import IndexNames

log = logging.getLogger("wirewatch.search.alerting.matching")

HIGHLIGHT_START = "«"  # the same markers notify.model reads
HIGHLIGHT_END = "»"
SEARCHES_PER_MSEARCH = 200
NAMED_PER_SEARCH = 100  # watches per named-query search: stays far below the clause limit
IDS_PER_SEARCH = 500
# Step one evaluates the watches on the batch's own terms (search/alerting/evaluate.py) when there are at least
# EVALUATE_MIN_WATCHES of them and this many per article of the batch. Measured (bench/bench_match.py, node CPU
# per article): named searches ~2.3 ms x watches / batch size, the evaluator ~3 ms at 10 or 100 watches, ~8 ms
# at 1,000 (its cost follows the matches, not the watches). Below 50 watches named searches stay as cheap.
EVALUATE_WATCHES_PER_ARTICLE = 1.5
EVALUATE_MIN_WATCHES = 50
ITEM_RETRIES = 3  # a refused search is sent again this many times, after 0.25, 0.5 and 1 s
ITEM_BACKOFF_S = 0.25
PASSAGE_CHARS = 240
_SOURCE = [
    "id", "title", "url", "source", "published_at", "fetched_at", "indexed_at", "content_hash", "groups", "story_id",
]  # fmt: skip
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
    story_id: str | None = None  # the article's story (search/stories.py): one alert per (watch, story)
    fetched_at: str | None = None  # when the article was fetched: the age bound is measured from it
    event: dict[str, Any] | None = None  # an event watch's event (search/alerting/eventwatch.py)


def match_articles(
    es: Elasticsearch,
    names: IndexNames,
    article_ids: Sequence[str],
    watches: Sequence[Watch],
    *,
    only_after_creation: bool = True,
    evaluate_ratio: float = EVALUATE_WATCHES_PER_ARTICLE,
    evaluate_min: int = EVALUATE_MIN_WATCHES,
) -> list[Match]:
    """Every (watch, article) match among ``article_ids``, in two steps: which pairs match (from
    ``evaluate_min`` watches and ``evaluate_ratio`` watches per article on, evaluated on the batch's own
    terms, search/alerting/evaluate.py; below it, and for queries the evaluator does not reproduce, named
    queries, up to NAMED_PER_SEARCH watches per
    search, no highlighting), then one search per watch that matched, for its passage. Raises MatchingRefused
    (a SearchUnavailable) when searches stayed refused by an overloaded node, with the matches the others
    found (nothing is skipped silently); a watch whose query the cluster rejects is logged and skipped, so it
    cannot block the others."""
    # event watches are matched after the NER phase, on its events (search/alerting/eventwatch.py)
    active = {w.id: w for w in watches if w.enabled and w.kind != "event"}
    ids = list(dict.fromkeys(article_ids))
    matched: dict[str, list[str]] = {}
    refused: set[str] = set()  # articles some watch could not be matched against
    for id_chunk in _chunks(ids, IDS_PER_SEARCH):
        evaluated: dict[str, list[str]] = {}
        by_search = list(active.values())
        if by_search and len(by_search) >= max(evaluate_min, evaluate_ratio * len(id_chunk)):
            evaluated, by_search = evaluate_watches(es, names, by_search, id_chunk, only_after_creation)
        for watch_id, hit_ids in evaluated.items():
            matched.setdefault(watch_id, []).extend(hit_ids)
        for watch_id, hit_ids in _which_match(es, names, by_search, id_chunk, only_after_creation, refused):
            matched.setdefault(watch_id, []).extend(hit_ids)
    hits = [(active[wid], hit_ids) for wid, hit_ids in matched.items() if wid in active]
    bodies = [_search_body(w, [{"ids": {"values": hit_ids}}], len(hit_ids)) for w, hit_ids in hits]
    responses = _msearch(es, names, bodies)
    for (_, hit_ids), response in zip(hits, responses, strict=True):
        if _refused(response):
            refused.update(hit_ids)
    found = _collect([w for w, _ in hits], responses)
    if refused:
        message = f"Elasticsearch is overloaded (429) and refused matching {len(refused)} article(s)"
        raise MatchingRefused(message, matches=list(found), article_ids=[i for i in ids if i in refused])
    return found


def _which_match(
    es: Elasticsearch, names: IndexNames, watches: list[Watch], ids: list[str], after_creation: bool, refused: set[str]
) -> Iterator[tuple[str, list[str]]]:
    """(watch id, matching article ids) pairs; a chunk the cluster rejects is retried watch by watch to
    find (and skip) the broken watch; a chunk it keeps refusing (429) adds ``ids`` to ``refused``."""
    chunks = list(_chunks(watches, NAMED_PER_SEARCH))
    responses = _msearch(es, names, [_named_body(chunk, ids, after_creation) for chunk in chunks])
    for chunk, response in zip(chunks, responses, strict=True):
        if _refused(response):
            refused.update(ids)
        elif "error" not in response:
            yield from _named_hits(response)
        elif len(chunk) == 1:
            _skip_broken(chunk[0], response)
        else:
            yield from _one_by_one(es, names, chunk, ids, after_creation, refused)


def _one_by_one(
    es: Elasticsearch, names: IndexNames, watches: list[Watch], ids: list[str], after_creation: bool, refused: set[str]
) -> Iterator[tuple[str, list[str]]]:
    responses = _msearch(es, names, [_named_body([w], ids, after_creation) for w in watches])
    for watch, response in zip(watches, responses, strict=True):
        if _refused(response):
            refused.update(ids)
        elif "error" in response:
            _skip_broken(watch, response)
        else:
            yield from _named_hits(response)


def _refused(response: dict[str, Any]) -> bool:
    """A search the node shed (429) or could not serve (502-504): worth sending again, unlike a bad query."""
    return "error" in response and int(response.get("status", 200)) in RETRY_ON_STATUS


def _named_body(watches: list[Watch], ids: list[str], after_creation: bool) -> dict[str, Any]:
    clauses = []
    for watch in watches:
        created = [{"range": {"indexed_at": {"gte": watch.created_at}}}] if after_creation else []
        clauses.append({"bool": {"must": [watch.query], "filter": created, "_name": watch.id}})
    query = {"bool": {"filter": [{"ids": {"values": ids}}], "should": clauses, "minimum_should_match": 1}}
    return {"query": query, "size": len(ids), "_source": False, "track_total_hits": False}


def _named_hits(response: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    by_watch: dict[str, list[str]] = {}
    for hit in response["hits"]["hits"]:
        for name in hit.get("matched_queries") or ():
            by_watch.setdefault(name, []).append(hit["_id"])
    yield from by_watch.items()


def _skip_broken(watch: Watch, response: dict[str, Any]) -> None:
    error = response.get("error")
    reason = error.get("reason", error) if isinstance(error, dict) else error
    log.warning("watch %r was skipped: Elasticsearch rejected its query: %s", watch.name, reason)


def _msearch(es: Elasticsearch, names: IndexNames, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The responses to ``bodies`` over the articles alias, SEARCHES_PER_MSEARCH per request."""
    responses: list[dict[str, Any]] = []
    for chunk in _chunks(bodies, SEARCHES_PER_MSEARCH):
        responses += _msearch_chunk(es, names, chunk)
    return responses


def _msearch_chunk(es: Elasticsearch, names: IndexNames, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The responses to ``bodies``; the searches refused (429) are sent again on their own, with backoff."""
    responses = _answered(es, names, bodies)
    for attempt in range(ITEM_RETRIES):
        again = [n for n, response in enumerate(responses) if _refused(response)]
        if not again:
            break
        time.sleep(ITEM_BACKOFF_S * 2**attempt)  # the node shed load: give it a moment
        for n, response in zip(again, _answered(es, names, [bodies[n] for n in again]), strict=True):
            responses[n] = response
    return responses


def _answered(es: Elasticsearch, names: IndexNames, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    searches: list[dict[str, Any]] = []
    for body in bodies:
        searches += [{"index": names.articles}, body]
    try:
        with es_errors("matching watches"):
            found = es.msearch(searches=searches)
    except SearchError as exc:
        # a query that does not even parse fails the whole request: bisect to give it its own error
        if not isinstance(exc.__cause__, BadRequestError):
            raise
        if len(bodies) == 1:
            return [{"error": {"reason": str(exc.__cause__.message)}, "status": 400}]
        half = len(bodies) // 2
        return _answered(es, names, bodies[:half]) + _answered(es, names, bodies[half:])
    return list(found["responses"])


def run_watch(es: Elasticsearch, names: IndexNames, watch: Watch, *, limit: int = 20) -> list[Match]:
    """What ``watch`` would have raised over the whole history, newest first (``wirewatch watch test``)."""
    if watch.kind == "event":
        raise SearchError(
            f"{watch.name!r} is an event watch: its events are listed by `wirewatch events` and the events view"
        )
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
        if _refused(response):
            continue  # its articles are matched again later (MatchingRefused)
        if "error" in response:
            _skip_broken(watch, response)
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
        story_id=doc.get("story_id"),
        fetched_at=doc.get("fetched_at"),
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
