"""Workbench latency: every page and API call of the workbench, on 10,000 articles from the benchmark's corpus
generator, each naming one to three places of the region (rows of the place table), served by uvicorn on
loopback.

    python -m bench.bench_web [--articles 10000] [--requests 100] [--only search_page,place_page]

Server time is the app's own ``Server-Timing`` (request in to response headers out, page fully rendered);
wall time as seen by the client is reported beside it. Elasticsearch is ``$WIREWATCH_ES_URL`` (required); the
corpus goes under a fresh index prefix that is deleted afterwards. Writes ``bench/results/web.json``.

The pages are the list ``PAGES``: a name, a path (``{place}`` and ``{article}`` are filled per request from
the corpus) and the parameters cycled through. A new page is one more line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch

from bench.corpus import CorpusSpec, GeneratedArticle, make_corpus
from bench.measure import machine_info
from enrich.places.table import load_places
from enrich.tags import place_record
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
    {"q": "attack", "country": "ML"},
    {"q": "", "near": "Gao 300km"},
]
MAP_QUERIES: list[dict[str, Any]] = [{"q": "", "place": "gn:2457163"}, {"q": "army", "country": "LY"}]
PLACES_PER_ARTICLE = (1, 3)


@dataclass(frozen=True)
class Page:
    """One page or API call: ``path`` may hold ``{place}`` (a place named in the corpus) or ``{article}``."""

    name: str
    path: str
    params: tuple[dict[str, Any], ...] = ({},)


# the comparison chart at its most: five series, groups and queries mixed
COMPARE_5: dict[str, Any] = {
    "s": ["group:boko-haram", "group:al-shabaab", "group:jnim", "attack", "army OR militants"],
}
PAGES: tuple[Page, ...] = (
    Page("search_page", "/search", (*QUERIES, *MAP_QUERIES)),  # hits, facets, the chart and the map
    Page("api_search", "/api/v1/search", tuple(QUERIES)),
    Page("api_attention", "/api/v1/attention", tuple(QUERIES)),
    Page("place_page", "/places/{place}"),
    Page("article_page", "/articles/{article}"),
    Page("api_article", "/api/v1/articles/{article}"),
    Page("export_csv", "/api/v1/search/export", ({"q": "attack"}, {"q": "", "country": "NE"})),
    Page("search_stix", "/api/v1/search/stix", ({"q": "attack", "group": "boko-haram"},)),
    Page("alerts_page", "/alerts"),
    Page("api_alerts", "/api/v1/alerts"),
    Page("feeds_page", "/feeds"),
    Page("api_feeds", "/api/v1/feeds"),
    Page("watches_page", "/watches"),
    Page("watch_new_page", "/watches/new", ({"q": "attack", "group": "jnim"},)),
    Page("api_watches", "/api/v1/watches"),
    Page("saved_page", "/saved"),
    Page("api_saved", "/api/v1/saved-searches"),
    Page("users_page", "/users"),
    Page("api_users", "/api/v1/users"),
    Page("api_me", "/api/v1/me"),
    Page("stix_alerts", "/api/v1/stix"),
    Page("taxii_collections", "/taxii2/api/collections/", ({},)),
    Page("compare_page", "/compare", (COMPARE_5, {**COMPARE_5, "y": "share", "interval": "week"})),
    Page("api_compare", "/api/v1/compare", (COMPARE_5,)),
    Page("events_page", "/events", ({}, {"type": "attack"})),
    Page("api_events", "/api/v1/events", ({},)),
    Page("group_page", "/entities/group/boko-haram"),
    Page("person_page", "/entities/person/Abubakar Shekau"),
)


def region_places() -> list[dict[str, Any]]:
    """The place records the corpus draws from: every city, capital and country of the region of interest,
    and its towns of 5,000 people or more (about 1,200 places, as the hand measurement had)."""
    table = load_places()
    rows = (table.places[pid] for pid in table.places)
    kept = [p for p in rows if p.focus and (p.kind != "town" or p.population >= 5000)]
    return [place_record(p) for p in sorted(kept, key=lambda p: p.id)]


def to_doc(article: GeneratedArticle, places: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    text = "\n\n".join(article.paragraphs)
    doc_id = f"b{article.feed:03d}-{article.index:04d}"
    named = rng.sample(places, rng.randint(*PLACES_PER_ARTICLE))
    return {
        "id": doc_id, "url": f"http://127.0.0.1{article.path}", "canonical_url": f"http://127.0.0.1{article.path}",
        "source": f"feed-{article.feed:03d}", "site_name": article.site, "title": article.title, "text": text,
        "description": None, "author": article.author, "published_at": article.published.isoformat(),
        "fetched_at": article.published.isoformat(), "language": "en",
        "extraction": {"method": "trafilatura", "date_source": "page"},
        "entities": [{"type": "PERSON", "canonical": article.author, "surface_forms": [article.author], "count": 1,
                      "mentions": []}],
        "entity_names": {"person": [article.author], "gpe": [p["name"] for p in named]},
        "groups": [{"id": g, "name": g, "parent": None, "surface_forms": [f], "count": 1, "mentions": []}
                   for g, f in zip(article.group_ids, article.surface_forms, strict=True)],
        "group_ids": list(article.group_ids), "content_hash": doc_id, "ner_done": True,
        "places": [{**p, "surface_forms": [p["name"]], "count": 1, "mentions": []} for p in named],
        "place_ids": [p["id"] for p in named], "place_countries": sorted({p["country"] for p in named}),
    }  # fmt: skip


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"p50_ms": round(cut[49], 1), "p95_ms": round(cut[94], 1), "max_ms": round(ordered[-1], 1)}


def measure(client: httpx.Client, page: Page, rounds: int, fill: dict[str, list[str]]) -> dict[str, Any]:
    server: list[float] = []
    wall: list[float] = []
    for i in range(rounds):
        path = page.path.format(**{key: values[i % len(values)] for key, values in fill.items()})
        started = time.perf_counter()
        response = client.get(path, params=page.params[i % len(page.params)])
        wall.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
    return {"requests": rounds, "server": percentiles(server), "wall": percentiles(wall)}


def index_corpus(es: Elasticsearch, names: IndexNames, articles: int) -> list[dict[str, Any]]:
    per_feed = 100
    spec = CorpusSpec(feeds=max(1, articles // per_feed), per_feed=per_feed)
    places, rng = region_places(), random.Random(23)
    docs = [to_doc(a, places, rng) for a in make_corpus(spec).articles]
    setup_indices(es, names)
    report = index_articles(es, names, docs, chunk_docs=500)
    assert not report.failed, f"{len(report.failed)} articles refused"
    es.indices.refresh(index=names.articles)
    es.indices.forcemerge(index=names.articles, max_num_segments=1)
    return docs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_web")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--only", default="", help="comma-separated page names (default: every page)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "web.json")
    args = parser.parse_args(argv)
    only = {n for n in args.only.split(",") if n}
    pages = [p for p in PAGES if not only or p.name in only]
    es_url = os.environ["WIREWATCH_ES_URL"]
    es = Elasticsearch(es_url, request_timeout=120)
    prefix = f"benchweb{uuid.uuid4().hex[:8]}-"
    names = IndexNames(prefix=prefix)
    try:
        started = time.perf_counter()
        docs = index_corpus(es, names, args.articles)
        print(f"indexed {len(docs)} articles in {time.perf_counter() - started:.0f} s")
        named = sorted({pid for d in docs for pid in d["place_ids"]})
        fill = {"place": ["gn:2457163", *random.Random(5).sample(named, 9)], "article": [d["id"] for d in docs[:50]]}
        settings = web_settings(es_url, prefix, Path(tempfile.mkdtemp()), auth=False)
        results: dict[str, Any] = {"articles": len(docs), "places_named": len(named)}
        with WebServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            for page in pages:
                measure(client, page, len(page.params), fill)  # warm caches as a running server would have them
                results[page.name] = measure(client, page, args.requests, fill)
                print(f"{page.name:18} server p50 {results[page.name]['server']['p50_ms']:7.1f} ms"
                      f"  p95 {results[page.name]['server']['p95_ms']:7.1f} ms")  # fmt: skip
        results["machine"] = machine_info()
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")
        es.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
