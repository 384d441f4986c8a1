"""Indexing throughput through ``search.bulk.index_articles`` versus raw ``_bulk``, and search latency.

    .venv/bin/python bench/bench_index.py --url http://127.0.0.1:9200 [--docs 10000] [--chunk 200]

Both paths index the same generated articles (A-B-B-A order over two halves) into identically set-up
indices (two prefixes) with the same chunk size and no refresh; the raw path serialises the same action
lines and posts them with ``es.bulk``. Then it times analyst searches (with highlights and facets) over the
project-indexed corpus. Prints figures; asserts nothing. Everything it creates is deleted at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from search.bulk import index_articles
from search.client import make_client
from search.indices import setup_indices
from search.names import IndexNames
from search.querying.query import SearchRequest, search_articles

GROUPS = ["isis", "aqim", "jnim", "shabaab", "boko-haram", "hts", "aqap", "iswap"]
PERSONS = ["Mokhtar Belmokhtar", "Khalifa Haftar", "Abu Bakr al-Baghdadi", "Iyad Ag Ghaly", "Thomas Waldhauser"]
PLACES = ["Libya", "Syria", "Iraq", "Mali", "Somalia", "Niger", "Nigeria", "Yemen", "Tunisia", "Algeria"]
_VOCABULARY = (
    "army attack border bombing camp caliphate checkpoint claim clash commander convoy desert drone "
    "fighters financing government hostages insurgents jihadist kidnapping militants minister offensive "
    "operation outpost recruits region security smuggling southern strike support town tribes troops"
)
WORDS = _VOCABULARY.split()
QUERIES = [
    "Belmokhtar",
    '"Libyan National Army"',
    "attack AND desert",
    "bombing OR kidnapping -Mali",
    "milit*",
    '"southern desert" smuggling',
    "(drone OR strike) Libya",
]


def make_corpus(count: int, rng: random.Random) -> list[dict[str, Any]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(count):
        place, person = rng.choice(PLACES), rng.choice(PERSONS)
        words = [rng.choice(WORDS) for _ in range(rng.randint(250, 600))]
        for at in rng.sample(range(len(words)), 6):
            words[at] = rng.choice([place, person, "Libyan National Army", "southern desert"])
        text = " ".join(words) + "."
        groups = rng.sample(GROUPS, rng.randint(0, 2))
        doc_id = hashlib.sha256(f"bench-{i}".encode()).hexdigest()[:16]
        docs.append(
            {
                "id": doc_id,
                "url": f"https://news.example/{doc_id}",
                "canonical_url": f"https://news.example/{doc_id}",
                "source": f"feed-{i % 12}",
                "title": f"{rng.choice(WORDS).title()} in {place}: {person} {rng.choice(WORDS)}",
                "text": text,
                "published_at": (start + timedelta(minutes=17 * i)).isoformat(),
                "fetched_at": (start + timedelta(minutes=17 * i + 5)).isoformat(),
                "language": "en",
                "extraction": {"method": "trafilatura", "date_source": "page"},
                "entities": [{"type": "PERSON", "canonical": person, "surface_forms": [person], "count": 1}],
                "entity_names": {"person": [person], "gpe": [place]},
                "groups": [{"id": g, "name": g, "surface_forms": [g], "count": 1} for g in groups],
                "group_ids": groups,
                "content_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
                "ner_done": True,
            }
        )
    return docs


def raw_bulk(es: Elasticsearch, names: IndexNames, docs: list[dict[str, Any]], chunk: int) -> float:
    dumps = es.transport.serializers.get_serializer("application/json").dumps
    now = datetime.now(UTC).isoformat()
    began = time.perf_counter()
    for start in range(0, len(docs), chunk):
        lines: list[bytes] = []
        for doc in docs[start : start + chunk]:
            lines.append(dumps({"index": {"_index": names.articles, "_id": doc["id"]}}))
            lines.append(dumps({**doc, "indexed_at": now}))
        response = es.bulk(operations=lines, refresh=False)  # type: ignore[arg-type]
        if response["errors"]:
            raise SystemExit("raw _bulk reported errors; the benchmark corpus is broken")
    return time.perf_counter() - began


def project_bulk(es: Elasticsearch, names: IndexNames, docs: list[dict[str, Any]], chunk: int) -> float:
    began = time.perf_counter()
    report = index_articles(es, names, docs, chunk_docs=chunk, chunk_bytes=50_000_000)
    elapsed = time.perf_counter() - began
    if len(report.written) != len(docs):
        raise SystemExit(f"index_articles failed some documents: {list(report.failed.items())[:3]}")
    return elapsed


def search_latency(es: Elasticsearch, names: IndexNames, rounds: int, rng: random.Random) -> list[float]:
    timings = []
    for i in range(rounds):
        request = SearchRequest(
            query=QUERIES[i % len(QUERIES)],
            groups=[rng.choice(GROUPS)] if i % 3 == 0 else [],
            sort="newest" if i % 4 == 0 else "relevance",
            limit=20,
        )
        began = time.perf_counter()
        search_articles(es, names, request)
        timings.append(time.perf_counter() - began)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:9200")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(7)
    es = make_client(url=args.url, request_timeout=120)
    run = uuid.uuid4().hex[:6]
    raw_names, ours = IndexNames(prefix=f"bench{run}raw-"), IndexNames(prefix=f"bench{run}ww-")
    try:
        docs = make_corpus(args.docs, rng)
        mb = sum(len(d["text"]) for d in docs) / 1e6
        print(f"corpus: {len(docs)} articles, {mb:.1f} MB of text, chunk {args.chunk} docs")
        for names in (raw_names, ours):
            setup_indices(es, names)
        # A-B-B-A over two halves, so warm-up and background load weigh on both paths alike
        half = len(docs) // 2
        raw_s = raw_bulk(es, raw_names, docs[:half], args.chunk)
        ours_s = project_bulk(es, ours, docs[:half], args.chunk)
        ours_s += project_bulk(es, ours, docs[half:], args.chunk)
        raw_s += raw_bulk(es, raw_names, docs[half:], args.chunk)
        raw_rate, ours_rate = len(docs) / raw_s, len(docs) / ours_s
        print(f"raw _bulk:          {raw_rate:8.0f} docs/s ({raw_s:.1f} s)")
        print(f"index_articles:     {ours_rate:8.0f} docs/s ({ours_s:.1f} s)")
        print(f"ratio:              {ours_rate / raw_rate:8.2f} (target >= 0.8)")
        again = time.perf_counter()
        report = index_articles(es, ours, docs, chunk_docs=args.chunk)
        print(
            f"re-index unchanged: {len(docs) / (time.perf_counter() - again):8.0f} docs/s "
            f"({len(report.unchanged)} unchanged, {len(report.written)} written)"
        )
        es.indices.refresh(index=ours.articles)
        search_latency(es, ours, 20, rng)  # warm caches
        timings = sorted(search_latency(es, ours, args.queries, rng))
        p50 = statistics.median(timings) * 1000
        p95 = timings[int(len(timings) * 0.95) - 1] * 1000
        print(
            f"search over {es.count(index=ours.articles)['count']} articles ({args.queries} queries, "
            f"highlights + facets): p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
    finally:
        for names in (raw_names, ours):
            es.indices.delete(index=f"{names.prefix}*", ignore_unavailable=True, allow_no_indices=True)
            es.options(ignore_status=404).indices.delete_index_template(name=f"{names.prefix}*")
        es.close()


if __name__ == "__main__":
    main()
