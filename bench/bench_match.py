"""Matching cost versus the number of query watches: the same corpus matched with 10, 100 and 1,000 watches.

    .venv/bin/python bench/bench_match.py --url http://127.0.0.1:9260 [--docs 1000] [--batch 200] [--rounds 3]

Set-up: a fresh prefix, ``--docs`` generated articles (bench_alerts' generator: news words, places and rare
operation names) indexed once and refreshed. For each watch count, that many analyst query watches over the
generator's vocabulary (built in memory, as ``list_watches`` returns them) are matched against the corpus in
micro-batches of ``--batch`` ids, as the engine's matcher does (``match_articles``: which pairs match, then the
passages). Each count runs ``--rounds`` times in turn (10, 100, 1,000, 10, ...), the median is kept. Per
article: wall ms, the node's CPU ms (its process CPU counter; on a node others use it is an upper bound) and
this process's own CPU ms (compiling, evaluating, parsing the answers).
Prints a table and one JSON line; asserts nothing. Everything it creates is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from bench.bench_alerts import article, random_query
from search.alerting import matching
from search.alerting.matching import match_articles
from search.alerting.watches import Watch, query_watch_id
from search.bulk import index_articles
from search.client import make_client
from search.indices import setup_indices
from search.names import IndexNames
from search.querying.querylang import parse_query

COUNTS = (10, 100, 1000)


def make_watches(count: int, seed: int = 3) -> list[Watch]:
    rng = random.Random(seed)
    created = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
    out = []
    for i in range(count):
        text = random_query(rng)
        name = f"bench query {i}"
        out.append(Watch(id=query_watch_id(name), name=name, kind="query", query=parse_query(text),
                         channels=("hook",), created_at=created, query_text=text))  # fmt: skip
    return out


def node_cpu_ms(es: Elasticsearch) -> int:
    stats = es.nodes.stats(metric="process").body["nodes"]
    return sum(int(node["process"]["cpu"]["total_in_millis"]) for node in stats.values())


def one_round(
    es: Elasticsearch, names: IndexNames, ids: list[str], watches: list[Watch], batch: int, choice: tuple[float, int]
) -> dict[str, Any]:
    cpu0, began, own0 = node_cpu_ms(es), time.perf_counter(), time.process_time()
    found = 0
    for at in range(0, len(ids), batch):
        found += len(match_articles(
            es, names, ids[at : at + batch], watches, only_after_creation=False, evaluate_ratio=choice[0],
            evaluate_min=choice[1],
        ))
    wall, own = time.perf_counter() - began, time.process_time() - own0
    return {"wall_ms": wall * 1000 / len(ids), "node_cpu_ms": (node_cpu_ms(es) - cpu0) / len(ids),
            "own_cpu_ms": own * 1000 / len(ids), "matches": found}  # fmt: skip


def run(
    es: Elasticsearch, names: IndexNames, docs: int, batch: int, rounds: int, choice: tuple[float, int]
) -> dict[str, Any]:
    rng = random.Random(11)
    corpus = [article(n, rng, group=None) for n in range(docs)]
    for at in range(0, docs, 500):
        index_articles(es, names, corpus[at : at + 500])
    es.indices.refresh(index=names.articles)
    ids = [d["id"] for d in corpus]
    watches = {count: make_watches(count) for count in COUNTS}
    one_round(es, names, ids[:batch], watches[COUNTS[-1]], batch, choice)  # warm-up: caches, compiled queries
    samples: dict[int, list[dict[str, Any]]] = {count: [] for count in COUNTS}
    for _ in range(rounds):
        for count in COUNTS:
            samples[count].append(one_round(es, names, ids, watches[count], batch, choice))
    figures: dict[str, Any] = {}
    for count, rows in samples.items():
        figures[str(count)] = {
            "wall_ms_per_article": round(statistics.median(r["wall_ms"] for r in rows), 3),
            "node_cpu_ms_per_article": round(statistics.median(r["node_cpu_ms"] for r in rows), 3),
            "own_cpu_ms_per_article": round(statistics.median(r["own_cpu_ms"] for r in rows), 3),
            "matches": rows[0]["matches"],
        }
    low, high = figures[str(COUNTS[0])], figures[str(COUNTS[-1])]
    return {
        "evaluate_watches_per_article": choice[0],
        "evaluate_min_watches": choice[1],
        "docs": docs,
        "batch": batch,
        "rounds": rounds,
        "watches": figures,
        "ratio_wall_1000_vs_10": round(high["wall_ms_per_article"] / low["wall_ms_per_article"], 2),
        "ratio_cpu_1000_vs_10": round(high["node_cpu_ms_per_article"] / max(low["node_cpu_ms_per_article"], 1e-3), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:9200")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--path", choices=("auto", "search", "evaluate"), default="auto",
                        help="step one: the product's choice, always named searches, always the evaluator")  # fmt: skip
    args = parser.parse_args()
    choices = {"auto": matching.EVALUATE_WATCHES_PER_ARTICLE, "evaluate": 0.0, "search": float("inf")}
    choice = (choices[args.path], matching.EVALUATE_MIN_WATCHES if args.path == "auto" else 0)
    es = make_client(url=args.url, request_timeout=120)
    names = IndexNames(prefix=f"bench-match-{uuid.uuid4().hex[:8]}-")
    try:
        setup_indices(es, names)
        result = run(es, names, args.docs, args.batch, args.rounds, choice)
        for count, row in result["watches"].items():
            print(f"{count:>5} watches: {row['wall_ms_per_article']:.2f} ms/article wall, "
                  f"{row['node_cpu_ms_per_article']:.2f} ms/article node CPU, "
              f"{row['own_cpu_ms_per_article']:.2f} ms/article own CPU, {row['matches']} matches")  # fmt: skip
        print(json.dumps(result))
    finally:
        found = es.indices.get(index=f"{names.prefix}*", expand_wildcards="all", allow_no_indices=True)
        if found:
            es.indices.delete(index=",".join(found), ignore_unavailable=True)
        es.options(ignore_status=404).indices.delete_index_template(name=names.articles_template)
        es.close()


if __name__ == "__main__":
    main()
