"""Watches matched on the articles' own terms (``search.alerting.evaluate``): what Elasticsearch gives for it.

Per batch of new articles: one search (the batch's ids; each article's index and the few keyword, date and
nested values the watches filter on) and one ``_mtermvectors`` (the terms and positions of the text fields the
watches name, computed by the node from the stored text with the index's analyzers). The watches' words are
analysed once by the same analyzers (``_mtermvectors`` on artificial documents) and the compiled watches are
kept for as long as the watch list is the same objects (the matcher re-reads it every 30 s), so the cost of a
batch follows its articles and the candidate watches, not the whole watch list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elasticsearch import Elasticsearch

from search.alerting.evaluate import (
    DATE_FIELDS,
    KEYWORD_FIELDS,
    Analyzed,
    AnyTerm,
    Bool,
    CandidateIndex,
    Const,
    Nested,
    Node,
    Phrase,
    Prefix,
    Range,
    Unsupported,
    analysis_needed,
    compile_query,
    doc_from_source,
    instant,
)
from search.alerting.watches import Watch
from search.client import es_errors
from search.names import IndexNames

ANALYSE_PER_REQUEST = 500  # artificial documents per _mtermvectors
_CACHE_MAX = 50_000
_analysed: dict[tuple[str, str, str], Analyzed] = {}  # (index, field, text) -> terms
_VALUES = sorted(KEYWORD_FIELDS | DATE_FIELDS)
_compiled: dict[tuple[str, int], tuple[dict[str, Any], Node | None]] = {}  # (index, id(query)) -> (query, node)


def evaluate_watches(
    es: Elasticsearch, names: IndexNames, watches: Sequence[Watch], ids: Sequence[str], after_creation: bool
) -> tuple[dict[str, list[str]], list[Watch]]:
    """({watch id: matching article ids}, the watches Elasticsearch must match itself: those whose query the
    evaluator does not reproduce). Articles the search does not see yet (not refreshed) match nothing, as in
    a search."""
    if not watches or not ids:
        return {}, list(watches)
    by_index: dict[str, list[dict[str, Any]]] = {}
    for hit in _batch_hits(es, names, ids):
        by_index.setdefault(hit["_index"], []).append(hit)
    found: dict[str, list[str]] = {}
    left: dict[str, Watch] = {}
    by_watch = {w.id: w for w in watches}
    for index, index_hits in by_index.items():
        compiled = _compile_all(es, index, watches)
        left.update({wid: by_watch[wid] for wid, node in compiled.items() if node is None})
        usable = [(wid, node) for wid, node in compiled.items() if node is not None]
        if not usable:
            continue
        candidates = CandidateIndex(_with_creation(usable, by_watch, after_creation))
        for doc in _docs(es, index, index_hits, [n for _, n in usable]):
            for wid in candidates.matching(doc):
                found.setdefault(wid, []).append(doc.id)
    return found, list(left.values())


def _with_creation(usable: list[tuple[str, Node]], by_watch: dict[str, Watch], after: bool) -> list[tuple[str, Node]]:
    """The watch's query and, when asked, the bound the named search adds: indexed after its creation."""
    if not after:
        return usable
    out: list[tuple[str, Node]] = []
    for wid, node in usable:
        at = instant(by_watch[wid].created_at)
        bound: Node = Range("indexed_at", (("gte", at),)) if at is not None else Const(False)
        out.append((wid, Bool(must=(node, bound), should=(), must_not=(), msm=0)))
    return out


def _text_fields(nodes: list[Node], kinds: tuple[type[AnyTerm | Phrase | Prefix], ...]) -> list[str]:
    leaves = [n for node in nodes for n in _walk(node) if isinstance(n, AnyTerm | Phrase | Prefix)]
    return sorted({n.field for n in leaves if isinstance(n, kinds)})


def _walk(node: Node) -> list[Node]:
    if isinstance(node, Bool):
        return [node, *(n for q in (*node.must, *node.should, *node.must_not) for n in _walk(q))]
    if isinstance(node, Nested):
        return [node, *_walk(node.query)]
    return [node]


def _batch_hits(es: Elasticsearch, names: IndexNames, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Each article's index and its keyword and date values (what term, range and nested clauses read)."""
    with es_errors("reading the batch's articles for matching"):
        found = es.search(
            index=names.articles, query={"ids": {"values": list(ids)}}, size=len(ids), source_includes=_VALUES,
            track_total_hits=False,
        )  # fmt: skip
    return list(found["hits"]["hits"])


def _docs(es: Elasticsearch, index: str, hits: list[dict[str, Any]], nodes: list[Node]) -> list[Any]:
    """The evaluator's documents: the term vectors of the text fields the watches name (with positions only
    for the fields a phrase reads: they cost a third more) and the hit's source values."""
    phrases = _text_fields(nodes, (Phrase,))
    plain = [f for f in _text_fields(nodes, (AnyTerm, Prefix)) if f not in phrases]
    vectors: dict[str, dict[str, dict[str, list[int]]]] = {h["_id"]: {} for h in hits}
    for fields, positions in ((phrases, True), (plain, False)):
        if not fields:
            continue
        with es_errors("reading the batch's terms for matching"):
            found = es.mtermvectors(
                index=index, ids=[h["_id"] for h in hits], fields=fields, positions=positions, offsets=False,
                payloads=False, term_statistics=False, field_statistics=False,
            )  # fmt: skip
        for item in found["docs"]:
            vectors.setdefault(item["_id"], {}).update(_terms(item.get("term_vectors") or {}))
    return [doc_from_source(h["_id"], h.get("_source") or {}, vectors.get(h["_id"], {})) for h in hits]


def _terms(term_vectors: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    return {
        name: {term: [tok["position"] for tok in info.get("tokens", ())] for term, info in spec["terms"].items()}
        for name, spec in term_vectors.items()
    }


def _compile_all(es: Elasticsearch, index: str, watches: Sequence[Watch]) -> dict[str, Node | None]:
    """{watch id: its compiled query on ``index``'s analyzers, None when Elasticsearch must match it}."""
    if len(_compiled) > _CACHE_MAX or len(_analysed) > _CACHE_MAX:
        _compiled.clear()
        _analysed.clear()
    out: dict[str, Node | None] = {}
    todo: list[Watch] = []
    for watch in watches:
        entry = _cached(index, watch)
        if entry is None:
            todo.append(watch)
        else:
            out[watch.id] = entry[1]
    wanted: set[tuple[str, str]] = set()
    for watch in todo:
        try:
            wanted |= analysis_needed(watch.query)
        except (Unsupported, KeyError, TypeError, AttributeError):
            out[watch.id] = None
    analysed = _analyse(es, index, sorted(wanted))
    for watch in todo:
        if watch.id in out:
            continue
        try:
            node: Node | None = compile_query(watch.query, lambda f, t: analysed[(f, t)])
        except (Unsupported, KeyError, TypeError, AttributeError):
            node = None
        out[watch.id] = node
        _compiled[(index, id(watch.query))] = (watch.query, node)  # the query is kept: its id() is not reused
    return out


def _cached(index: str, watch: Watch) -> tuple[dict[str, Any], Node | None] | None:
    entry = _compiled.get((index, id(watch.query)))
    return entry if entry is not None and entry[0] is watch.query else None


def _analyse(es: Elasticsearch, index: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Analyzed]:
    """Each (field, text) analysed by the field's own analyzer on ``index`` (cached across batches)."""
    out = {pair: _analysed[(index, *pair)] for pair in pairs if (index, *pair) in _analysed}
    missing = [pair for pair in pairs if pair not in out]
    for at in range(0, len(missing), ANALYSE_PER_REQUEST):
        chunk = missing[at : at + ANALYSE_PER_REQUEST]
        docs = [{"doc": _artificial(name, text), "fields": [name]} for name, text in chunk]
        with es_errors("analysing the watches' words"):
            found = es.mtermvectors(
                index=index, docs=docs, positions=True, offsets=False, payloads=False, term_statistics=False,
                field_statistics=False,
            )  # fmt: skip
        for (name, text), item in zip(chunk, found["docs"], strict=True):
            terms = (item.get("term_vectors") or {}).get(name, {}).get("terms", {})
            tokens = sorted((tok["position"], term) for term, info in terms.items() for tok in info["tokens"])
            out[(name, text)] = _analysed[(index, name, text)] = tuple((term, pos) for pos, term in tokens)
    return out


def _artificial(name: str, text: str) -> dict[str, Any]:
    """A document holding ``text`` in the top field of ``name`` (title.fr -> {"title": text})."""
    top = name.split(".")[0]
    return {top: text}
