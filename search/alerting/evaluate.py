"""The watch queries evaluated on the documents themselves, as a percolator would (the local node has none).

A watch's Elasticsearch query (the query language compiles to bool, match, match_phrase, prefix, term,
constant_score, nested and range) is compiled once into a small tree whose words are already analysed by the
index's own analyzers (``search.alerting.docterms``); an article is its indexed terms with their positions (the
term vectors Elasticsearch computes from the stored text) and its keyword values. So a match here is the match
Elasticsearch would find, without a search per watch.

Like the percolator, each compiled watch names the terms an article must hold one of to possibly match
(``required_keys``); an index from those terms to the watches picks, for each article, the few candidates
worth evaluating, so the work per article follows its own terms and the watches that share them, not the length
of the watch list. A query holding anything else (geo distance, scripts, percentages...) raises ``Unsupported``:
the caller leaves that watch to Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from search.mappings import KEYWORD_MAX_CHARS, articles_mappings

Key = tuple[str, str]  # (field, term or keyword value)
Analyzed = tuple[tuple[str, int], ...]  # (term, position) in the order the analyzer produced them
Analyzer = Callable[[str, str], Analyzed]  # (field, text) -> its terms


class Unsupported(Exception):
    """A query this evaluator does not reproduce exactly: Elasticsearch matches that watch."""


def _field_kinds() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """(text fields with their subfields, keyword fields, date fields, nested paths) of the articles mapping."""
    texts: set[str] = set()
    keywords: set[str] = set()
    dates: set[str] = set()
    nested: set[str] = set()

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            path = prefix + name
            kind = spec.get("type", "object")
            if kind == "nested":
                nested.add(path)
            if kind == "text":
                texts.add(path)
                texts.update(f"{path}.{sub}" for sub, s in spec.get("fields", {}).items() if s["type"] == "text")
            elif kind == "keyword" and spec.get("index", True):
                keywords.add(path)
            elif kind == "date":
                dates.add(path)
            if "properties" in spec:
                walk(spec["properties"], path + ".")

    walk(articles_mappings()["properties"], "")
    return frozenset(texts), frozenset(keywords), frozenset(dates), frozenset(nested)


TEXT_FIELDS, KEYWORD_FIELDS, DATE_FIELDS, NESTED_PATHS = _field_kinds()


@dataclass(kw_only=True)
class Doc:
    """One article (or one nested object of it) as the evaluator reads it."""

    id: str = ""
    terms: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # text field -> term -> positions
    values: dict[str, list[Any]] = field(default_factory=dict)  # dotted source path -> its scalar values
    nested: dict[str, list[Doc]] = field(default_factory=dict)  # nested path -> one Doc per object

    def held_keys(self) -> set[Key]:
        out = {(f, t) for f, terms in self.terms.items() for t in terms}
        out.update((f, v) for f, vs in self.values.items() if f in KEYWORD_FIELDS for v in vs if isinstance(v, str))
        for objects in self.nested.values():
            for obj in objects:
                out |= obj.held_keys()
        return out


def doc_from_source(doc_id: str, source: dict[str, Any], terms: dict[str, dict[str, list[int]]]) -> Doc:
    """The evaluator's view of an article: its term vectors and its flattened source values."""
    doc = Doc(id=doc_id, terms=terms)
    _flatten(source, "", doc)
    return doc


def _flatten(value: Any, path: str, doc: Doc, *, inside: bool = False) -> None:
    if path in NESTED_PATHS and not inside:
        for obj in value if isinstance(value, list) else [value]:
            inner = Doc()
            _flatten(obj, path, inner, inside=True)  # each object is a document of its own, as in Lucene
            doc.nested.setdefault(path, []).append(inner)
        return
    if isinstance(value, dict):
        for name, inner_value in value.items():
            _flatten(inner_value, f"{path}.{name}" if path else name, doc)
    elif isinstance(value, list):
        for item in value:
            _flatten(item, path, doc)
    elif value is not None:
        doc.values.setdefault(path, []).append(value)


# --- compiled nodes -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class AnyTerm:  # match (operator or / and)
    field: str
    terms: frozenset[str]
    all_of: bool = False


@dataclass(frozen=True)
class Phrase:  # match_phrase, slop 0
    field: str
    terms: Analyzed


@dataclass(frozen=True)
class Prefix:
    field: str
    value: str


@dataclass(frozen=True)
class Keyword:  # term / terms on a keyword field
    field: str
    values: frozenset[str]


@dataclass(frozen=True)
class Range:
    field: str
    bounds: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True)
class Nested:
    path: str
    query: Node


@dataclass(frozen=True)
class Bool:
    must: tuple[Node, ...]
    should: tuple[Node, ...]
    must_not: tuple[Node, ...]
    msm: int


Node = Const | AnyTerm | Phrase | Prefix | Keyword | Range | Nested | Bool


def analysis_needed(query: dict[str, Any]) -> set[tuple[str, str]]:
    """The (field, text) pairs ``compile_query`` will ask the analyzer for."""
    out: set[tuple[str, str]] = set()

    def record(name: str, text: str) -> Analyzed:
        out.add((name, text))
        return (("", 0),)  # a placeholder term: compiling goes on as if the text had one

    compile_query(query, record)
    return out


def compile_query(query: dict[str, Any], analyze: Analyzer) -> Node:
    """The evaluable tree of an Elasticsearch query; ``Unsupported`` when it holds anything else."""
    if len(query) != 1:
        raise Unsupported(f"a query object with {len(query)} keys")
    kind, body = next(iter(query.items()))
    if kind == "match_all":
        return Const(True)
    if kind == "match_none":
        return Const(False)
    if kind == "bool":
        return _bool(body, analyze)
    if kind == "constant_score":
        return compile_query(body["filter"], analyze)
    if kind == "nested":
        if body.get("path") not in NESTED_PATHS:
            raise Unsupported(f"nested path {body.get('path')!r}")
        return Nested(body["path"], compile_query(body["query"], analyze))
    name, spec = _single(body)
    if kind in ("match", "match_phrase", "prefix") and name not in TEXT_FIELDS:
        raise Unsupported(f"{kind} on {name}")
    if kind == "match":
        return _match(name, spec, analyze)
    if kind == "match_phrase":
        text = spec["query"] if isinstance(spec, dict) else spec
        if isinstance(spec, dict) and set(spec) - {"query", "boost"}:
            raise Unsupported("match_phrase options")
        analyzed = analyze(name, str(text))
        return Phrase(name, analyzed) if analyzed else Const(False)
    if kind == "prefix":
        value = spec.get("value") if isinstance(spec, dict) else spec
        if isinstance(spec, dict) and set(spec) - {"value", "boost"}:
            raise Unsupported("prefix options")
        return Prefix(name, str(value))
    if kind in ("term", "terms"):
        return _keyword(kind, name, spec)
    if kind == "range":
        return _range(name, spec)
    raise Unsupported(kind)


def _single(body: Any) -> tuple[str, Any]:
    fields = [k for k in body if k not in ("boost", "_name")] if isinstance(body, dict) else []
    if len(fields) != 1:
        raise Unsupported("a leaf query on several fields")
    return fields[0], body[fields[0]]


def _match(name: str, spec: Any, analyze: Analyzer) -> Node:
    spec = spec if isinstance(spec, dict) else {"query": spec}
    if set(spec) - {"query", "boost", "zero_terms_query", "operator"}:
        raise Unsupported("match options")
    terms = frozenset(t for t, _ in analyze(name, str(spec["query"])))
    if not terms:
        return Const(spec.get("zero_terms_query", "none") == "all")
    return AnyTerm(name, terms, all_of=str(spec.get("operator", "or")).lower() == "and")


def _keyword(kind: str, name: str, spec: Any) -> Node:
    if name not in KEYWORD_FIELDS:
        raise Unsupported(f"{kind} on {name}")
    if kind == "term":
        spec = spec.get("value") if isinstance(spec, dict) else spec
        values = [spec]
    else:
        values = list(spec) if isinstance(spec, list) else []
    if not values or not all(isinstance(v, str) for v in values):
        raise Unsupported(f"{kind} value")
    return Keyword(name, frozenset(v for v in values if len(v) <= KEYWORD_MAX_CHARS))


def _range(name: str, spec: Any) -> Node:
    if name not in DATE_FIELDS or not isinstance(spec, dict) or set(spec) - {"gte", "gt", "lte", "lt"}:
        raise Unsupported(f"range on {name}")
    bounds = []
    for op, value in spec.items():
        at = instant(value)
        if at is None:
            raise Unsupported(f"range value {value!r}")
        bounds.append((op, at))
    return Range(name, tuple(bounds))


def _bool(body: dict[str, Any], analyze: Analyzer) -> Node:
    if set(body) - {"must", "filter", "should", "must_not", "minimum_should_match", "boost", "_name"}:
        raise Unsupported("bool options")

    def clauses(key: str) -> tuple[Node, ...]:
        value = body.get(key) or []
        return tuple(compile_query(q, analyze) for q in (value if isinstance(value, list) else [value]))

    must = clauses("must") + clauses("filter")
    should = clauses("should")
    msm_raw = body.get("minimum_should_match", 0 if must else 1)
    if isinstance(msm_raw, str) and not msm_raw.isdigit():
        raise Unsupported(f"minimum_should_match {msm_raw!r}")
    msm = int(msm_raw) if should else 0
    return Bool(must, should, clauses("must_not"), msm)


def instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# --- evaluation ---------------------------------------------------------------------------------------------
def matches(node: Node, doc: Doc) -> bool:
    """Whether ``doc`` matches ``node`` as Elasticsearch would decide it."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, AnyTerm):
        have = doc.terms.get(node.field, {})
        return all(t in have for t in node.terms) if node.all_of else any(t in have for t in node.terms)
    if isinstance(node, Phrase):
        return _phrase(node, doc.terms.get(node.field, {}))
    if isinstance(node, Prefix):
        return any(t.startswith(node.value) for t in doc.terms.get(node.field, {}))
    if isinstance(node, Keyword):
        return any(v in node.values for v in doc.values.get(node.field, ()))
    if isinstance(node, Range):
        return any(_in_range(node, instant(v)) for v in doc.values.get(node.field, ()))
    if isinstance(node, Nested):
        return any(matches(node.query, obj) for obj in doc.nested.get(node.path, ()))
    if not all(matches(q, doc) for q in node.must) or any(matches(q, doc) for q in node.must_not):
        return False
    if node.msm <= 0:
        return True
    return sum(1 for q in node.should if matches(q, doc)) >= node.msm


def _phrase(node: Phrase, have: dict[str, list[int]]) -> bool:
    first, base = node.terms[0]
    if any(t not in have for t, _ in node.terms):
        return False
    return any(all(start + pos - base in have[t] for t, pos in node.terms[1:]) for start in have[first])


def _in_range(node: Range, at: datetime | None) -> bool:
    if at is None:
        return False
    checks = {"gte": at.__ge__, "gt": at.__gt__, "lte": at.__le__, "lt": at.__lt__}
    return all(checks[op](bound) for op, bound in node.bounds)


def required_keys(node: Node) -> frozenset[Key] | None:
    """Terms a matching article holds at least one of; None when no such set is known (always a candidate)."""
    if isinstance(node, Const):
        return None if node.value else frozenset()
    if isinstance(node, AnyTerm):
        return frozenset((node.field, t) for t in node.terms)
    if isinstance(node, Phrase):
        term = max((t for t, _ in node.terms), key=len)
        return frozenset({(node.field, term)})
    if isinstance(node, Keyword):
        return frozenset((node.field, v) for v in node.values)
    if isinstance(node, Nested):
        return required_keys(node.query)
    if isinstance(node, Prefix | Range):
        return None
    known = [k for k in (required_keys(q) for q in node.must) if k is not None]
    if known:
        return min(known, key=len)
    if node.msm >= 1:
        either = [required_keys(q) for q in node.should]
        if all(k is not None for k in either):
            return frozenset().union(*(k for k in either if k is not None))
    return None


class CandidateIndex:
    """Which compiled watches an article may match, from the terms it holds."""

    def __init__(self, compiled: Iterable[tuple[str, Node]]) -> None:
        self.by_key: dict[Key, list[int]] = {}
        self.always: list[int] = []
        self.items = list(compiled)
        for n, (_, node) in enumerate(self.items):
            keys = required_keys(node)
            if keys is None:
                self.always.append(n)
            for key in keys or ():
                self.by_key.setdefault(key, []).append(n)

    def matching(self, doc: Doc) -> list[str]:
        """The ids of the watches ``doc`` matches."""
        found = set(self.always)
        for key in doc.held_keys():
            found.update(self.by_key.get(key, ()))
        return [self.items[n][0] for n in sorted(found) if matches(self.items[n][1], doc)]
