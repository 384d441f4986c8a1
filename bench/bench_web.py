"""Workbench latency: the search page and ``/api/v1/search`` (highlights, facets; the page adds the attention
chart) on 10,000 articles from the benchmark's corpus generator, served by uvicorn on loopback.

    python -m bench.bench_web [--articles 10000] [--requests 100]

Server time is the app's own ``Server-Timing`` (request in to response headers out, page fully rendered);
wall time as seen by the client is reported beside it. Elasticsearch is ``$WIREWATCH_ES_URL`` (required); the
corpus goes under a fresh index prefix that is deleted afterwards. Writes ``bench/results/web.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch

from bench.corpus import CorpusSpec, GeneratedArticle, make_corpus
from bench.measure import machine_info
from search.bulk import index_articles
from search.indices import setup_indices
from search.names import IndexNames
from tests.support.web import WebServer, web_settings

QUERIES: list[dict[str, Any]] = [
    {"q": "attack"},
    {"q": '"Islamic State"'},
    {"q": "army OR militants", "sort": "newest"},
    {"q": "attack -ambush"},
    {"q": ""},
    {"q": "minister*"},
    {"q": "attack", "group": "boko-haram"},
    {"q": "(convoy OR checkpoint) AND soldiers"},
    {"q": "", "group": "al-shabaab", "sort": "newest"},
    {"q": "elections", "since": "2024-03-01", "until": "2024-04-30"},
]


def to_doc(article: GeneratedArticle) -> dict[str, Any]:
    text = "\n\n".join(article.paragraphs)
    doc_id = f"b{article.feed:03d}-{article.index:04d}"
    return {
        "id": doc_id, "url": f"http://127.0.0.1{article.path}", "canonical_url": f"http://127.0.0.1{article.path}",
        "source": f"feed-{article.feed:03d}", "site_name": article.site, "title": article.title, "text": text,
        "description": None, "author": article.author, "published_at": article.published.isoformat(),
        "fetched_at": article.published.isoformat(), "language": "en",
        "extraction": {"method": "trafilatura", "date_source": "page"},
        "entities": [{"type": "PERSON", "canonical": article.author, "surface_forms": [article.author], "count": 1,
                      "mentions": []}],
        "entity_names": {"person": [article.author]},
        "groups": [{"id": g, "name": g, "parent": None, "surface_forms": [f], "count": 1, "mentions": []}
                   for g, f in zip(article.group_ids, article.surface_forms, strict=True)],
        "group_ids": list(article.group_ids), "content_hash": doc_id, "ner_done": True,
    }  # fmt: skip


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50_ms": round(cut[49], 1), "p95_ms": round(cut[94], 1), "max_ms": round(ordered[-1], 1)}


def measure(client: httpx.Client, path: str, rounds: int) -> dict[str, Any]:
    server: list[float] = []
    wall: list[float] = []
    for i in range(rounds):
        params = QUERIES[i % len(QUERIES)]
        started = time.perf_counter()
        response = client.get(path, params=params)
        wall.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
    return {"requests": rounds, "server": percentiles(server), "wall": percentiles(wall)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_web")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "web.json")
    args = parser.parse_args(argv)
    es_url = os.environ["WIREWATCH_ES_URL"]
    per_feed = 100
    spec = CorpusSpec(feeds=max(1, args.articles // per_feed), per_feed=per_feed)
    es = Elasticsearch(es_url, request_timeout=120)
    prefix = f"benchweb{uuid.uuid4().hex[:8]}-"
    names = IndexNames(prefix=prefix)
    try:
        started = time.perf_counter()
        docs = [to_doc(a) for a in make_corpus(spec).articles]
        setup_indices(es, names)
        report = index_articles(es, names, docs, chunk_docs=500)
        es.indices.refresh(index=names.articles)
        es.indices.forcemerge(index=names.articles, max_num_segments=1)
        print(f"indexed {len(report.written)} articles in {time.perf_counter() - started:.0f} s")
        settings = web_settings(es_url, prefix, Path(tempfile.mkdtemp()), auth=False)
        with WebServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            for params in QUERIES:  # warm caches as a running server would have them
                client.get("/search", params=params).raise_for_status()
            results = {
                "articles": len(docs),
                "search_page": measure(client, "/search", args.requests),
                "api_search": measure(client, "/api/v1/search", args.requests),
                "machine": machine_info(),
            }
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")
        es.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
