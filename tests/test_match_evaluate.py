"""Watches evaluated on the articles' own terms (search/alerting/evaluate.py) find exactly what Elasticsearch's
named searches find, on the real node, for every construct of the query language; a query the evaluator does
not reproduce is left to Elasticsearch; the candidate index never drops a match."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from search.alerting.docterms import evaluate_watches
from search.alerting.evaluate import Unsupported, compile_query
from search.alerting.matching import match_articles
from search.alerting.watches import Watch, group_query, query_watch_id
from search.bulk import index_articles
from search.names import IndexNames
from search.querying.querylang import near_clause, parse_query
from tests.support.alerting import article, index_prefix, setup_store  # noqa: F401  (index_prefix: see its doc)

TEXTS = [
    ("en1", "en", "Militants attack convoy", "Fighters loyal to al-Qaeda attacked a convoy near the border town."),
    ("en2", "en", "Car bomb in the market", "A car bomb exploded outside the market; the militia denied it."),
    ("en3", "en", "Budget talks", "The minister's budget was debated; attacks were not on the agenda."),
    ("fr1", "fr", "Attaques dans le nord", "Les attaques de l'État islamique ont visé des militaires près de Gao."),
    ("fr2", "fr", "Réunion", "Le ministre a rencontré les chefs d'une milice au sujet du budget."),
    ("ar1", "ar", "هجوم في الشمال", "أعلن تنظيم القاعدة مسؤوليته عن الهجوم على القافلة قرب الحدود."),
    ("ar2", "ar", "اجتماع", "التقى الوزير بقادة القبائل لمناقشة الميزانية."),
]
QUERIES = [
    "attack", "attacks", "attaques", "القاعدة", "قاعدة", "al-Qaeda", '"car bomb"', '"bomb car"', '"État islamique"',
    '"etat islamique"', "milit*", "convoy -border", "budget AND NOT minister", "(convoy OR market) bomb",
    "the AND budget", '"the market"', "group:aqim", "lang:fr", "lang:ar budget", "entity:PERSON:\"Iyad Ag Ghaly\"",
    "event:attack", "source:wire OR القافلة", "minister OR ministre OR الوزير", "Gao AND (attaque OR attack)",
]  # fmt: skip


def _doc(n: int, doc_id: str, lang: str, title: str, text: str) -> dict[str, Any]:
    groups = {"aqim": ("AQIM", "al-Qaeda")} if "al-Qaeda" in text else None
    doc = article(doc_id, title=title, text=text, groups=groups, source="wire" if n % 3 == 0 else "demo")
    doc["language"] = lang
    if n % 2 == 0:
        doc["entity_names"] = {"person": ["Iyad Ag Ghaly"]}
    doc["events"] = [{"type": "attack", "actor_ids": ["aqim"]}] if n in (0, 3) else []
    doc["indexed_at"] = (datetime(2024, 5, 1, tzinfo=UTC) + timedelta(hours=n)).isoformat()
    return doc


def _watch(n: int, text: str, *, created: datetime | None = None) -> Watch:
    query = parse_query(text)
    return Watch(id=query_watch_id(f"w{n}"), name=f"w{n}", kind="query", query=query, channels=("hook",),
                 created_at=(created or datetime(2020, 1, 1, tzinfo=UTC)).isoformat(), query_text=text)  # fmt: skip


@pytest.fixture()
def corpus(es: Elasticsearch, index_names: IndexNames) -> tuple[IndexNames, list[str]]:
    setup_store(es, index_names)
    docs = [_doc(n, *row) for n, row in enumerate(TEXTS)]
    index_articles(es, index_names, docs)
    es.indices.refresh(index=index_names.articles)
    return index_names, [d["id"] for d in docs]


def _pairs(found: list[Any]) -> set[tuple[str, str]]:
    return {(m.watch_id, m.article_id) for m in found}


def test_evaluated_matches_are_the_searched_ones(es: Elasticsearch, corpus: tuple[IndexNames, list[str]]) -> None:
    names, ids = corpus
    watches = [_watch(n, q) for n, q in enumerate(QUERIES)]
    searched = match_articles(es, names, ids, watches, only_after_creation=False, evaluate_ratio=math.inf)
    evaluated = match_articles(es, names, ids, watches, only_after_creation=False, evaluate_ratio=0, evaluate_min=0)
    assert _pairs(evaluated) == _pairs(searched)
    assert len({m.watch_id for m in searched}) >= len(QUERIES) - 3  # the queries do match things
    by_id = {(m.watch_id, m.article_id): m.passage for m in searched}
    assert {(m.watch_id, m.article_id): m.passage for m in evaluated} == by_id
    found, left = evaluate_watches(es, names, watches, ids, False)
    assert left == []  # every construct above is evaluated, none left to a search
    assert {(w, a) for w, hits in found.items() for a in hits} == _pairs(searched)


def test_creation_bound_and_group_watches(es: Elasticsearch, corpus: tuple[IndexNames, list[str]]) -> None:
    names, ids = corpus
    late = datetime.now(UTC) + timedelta(hours=1)  # created after every article was indexed
    early = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
    group = Watch(id="g-aqim", name="AQIM", kind="group", query=group_query("aqim"), channels=("hook",),
                  created_at=early, group_id="aqim", group_name="AQIM")  # fmt: skip
    watches = [group, _watch(1, "attack OR attaques OR budget", created=late), _watch(2, "lang:ar", created=late),
               _watch(3, "attack OR attaques OR budget")]  # fmt: skip
    searched = match_articles(es, names, ids, watches, evaluate_ratio=math.inf)
    evaluated = match_articles(es, names, ids, watches, evaluate_ratio=0, evaluate_min=0)
    assert _pairs(evaluated) == _pairs(searched)
    assert ("g-aqim", ids[0]) in _pairs(evaluated)
    assert {m.watch_id for m in evaluated} == {"g-aqim", watches[3].id}


def test_unsupported_query_is_left_to_elasticsearch(es: Elasticsearch, corpus: tuple[IndexNames, list[str]]) -> None:
    names, ids = corpus
    near = {"bool": {"must": [parse_query("attack")], "filter": [near_clause(16.27, -0.04, "100km")]}}
    with pytest.raises(Unsupported):
        compile_query(near, lambda _f, _t: ())
    odd = Watch(id="near", name="near", kind="query", query=near, channels=("hook",),
                created_at=datetime(2020, 1, 1, tzinfo=UTC).isoformat())  # fmt: skip
    watches = [odd, _watch(1, "attack")]
    found, left = evaluate_watches(es, names, watches, ids, False)
    assert [w.id for w in left] == ["near"]
    assert set(found) == {watches[1].id}
    searched = match_articles(es, names, ids, watches, only_after_creation=False, evaluate_ratio=math.inf)
    evaluated = match_articles(es, names, ids, watches, only_after_creation=False, evaluate_ratio=0, evaluate_min=0)
    assert _pairs(evaluated) == _pairs(searched)


def test_many_watches_sharing_no_terms(es: Elasticsearch, corpus: tuple[IndexNames, list[str]]) -> None:
    """The candidate index: 300 watches on words no article holds, and the real ones among them still match."""
    names, ids = corpus
    noise = [_watch(100 + n, f"opname{n:04d} OR \"codename {n}\"") for n in range(300)]
    real = [_watch(n, q) for n, q in enumerate(QUERIES)]
    watches = noise[:150] + real + noise[150:]
    searched = match_articles(es, names, ids, watches, only_after_creation=False, evaluate_ratio=math.inf)
    evaluated = match_articles(es, names, ids, watches, only_after_creation=False)  # the product's own choice
    assert _pairs(evaluated) == _pairs(searched)
    assert not {w for w, _ in _pairs(evaluated)} & {w.id for w in noise}
