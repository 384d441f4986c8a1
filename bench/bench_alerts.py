"""Alert latency (bulk write -> delivered at a local receiver) and matching throughput with 1,000 watches.

    .venv/bin/python bench/bench_alerts.py --url http://127.0.0.1:9200 [--watches 1000] [--docs 500] [--rounds 20]

Set-up: a fresh prefix, the articles and alert indices, 8 group watches and (watches - 8) analyst query
watches over the generator's vocabulary, all routed to one signed webhook on a threaded HTTP receiver on
loopback. Latency: each round bulk-writes one article that names a tracked group, then runs the pass's alert
steps in process (match_since_checkpoint with its refresh, pending_deliveries, deliver, record_deliveries) and
takes the time the receiver got the POST. Throughput: ``match_articles`` over batches of generated articles
against every watch. Prints figures; asserts nothing. Everything it creates is deleted at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from elasticsearch import Elasticsearch

from notify import AddressRules, Secret, WebhookChannel, deliver, deliveries_from_docs
from search.alerting.alerts import alert_id, pending_deliveries, record_deliveries
from search.alerting.indices import setup_alert_indices
from search.alerting.matching import match_articles
from search.alerting.reconcile import match_since_checkpoint
from search.alerting.watches import add_query_watch, group_watch_id, list_watches, sync_group_watches
from search.bulk import index_articles
from search.client import make_client
from search.indices import setup_indices
from search.names import IndexNames

GROUPS = ["islamic-state", "al-qaeda", "aqim", "jnim", "al-shabaab", "boko-haram", "hts", "iswap"]
WORDS = [
    "army",
    "attack",
    "border",
    "bombing",
    "camp",
    "caliphate",
    "checkpoint",
    "claim",
    "clash",
    "commander",
    "convoy",
    "desert",
    "drone",
    "fighters",
    "financing",
    "government",
    "hostages",
    "insurgents",
    "jihadist",
    "kidnapping",
    "militants",
    "minister",
    "offensive",
    "operation",
    "outpost",
    "recruits",
    "region",
    "security",
    "smuggling",
    "southern",
    "strike",
    "support",
    "town",
    "tribes",
    "troops",
]
# rare words (operation names, say): every article carries a few, every query watch asks for one or two, so
# a watch matches a few articles in a thousand, as analyst watches do
CODEWORDS = [f"opname{n:04d}" for n in range(2000)]
PLACES = ["Libya", "Syria", "Iraq", "Mali", "Somalia", "Niger", "Nigeria", "Yemen", "Tunisia", "Algeria"]


class Arrivals:
    """A threaded receiver that notes when each Idempotency-Key (alert id) first arrives."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                arrivals.first_seen.setdefault(self.headers["Idempotency-Key"], time.perf_counter())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def article(n: int, rng: random.Random, *, group: str | None) -> dict[str, Any]:
    words = [rng.choice(WORDS) for _ in range(rng.randint(200, 400))]
    for at in rng.sample(range(len(words)), 4):
        words[at] = rng.choice(PLACES)
    for at in rng.sample(range(len(words)), 3):
        words[at] = rng.choice(CODEWORDS)
    groups = []
    if group:
        at = rng.randrange(len(words))
        words[at] = "ISIS"
        text = " ".join(words) + "."
        start = text.index("ISIS")
        mention = {"start": start, "end": start + 4, "surface": "ISIS"}
        groups = [{"id": group, "name": group, "parent": None, "surface_forms": ["ISIS"], "count": 1,
                   "mentions": [mention]}]  # fmt: skip
    text = " ".join(words) + "."
    doc_id = hashlib.sha256(f"bench-alert-{n}-{uuid.uuid4()}".encode()).hexdigest()[:16]
    return {
        "id": doc_id, "url": f"https://bench.example.org/{doc_id}", "canonical_url": f"https://bench.example.org/{doc_id}",
        "source": "bench", "site_name": None, "title": " ".join(rng.sample(WORDS, 6)).capitalize(), "text": text,
        "description": None, "author": None, "published_at": "2024-05-01T10:00:00+00:00",
        "fetched_at": "2024-05-01T10:05:00+00:00", "language": "en",
        "extraction": {"method": "trafilatura", "date_source": "page"}, "entities": [], "entity_names": {},
        "groups": groups, "group_ids": [g["id"] for g in groups],
        "content_hash": hashlib.sha256(text.encode()).hexdigest()[:16], "ner_done": False,
    }  # fmt: skip


def random_query(rng: random.Random) -> str:
    a, b = rng.sample(CODEWORDS, 2)
    word, place = rng.choice(WORDS), rng.choice(PLACES)
    shapes = [f"{a} AND {place}", f'"{word} {a}" OR {b}', f"({a} OR {b}) -{place}", f"{a} {word}"]
    return rng.choice(shapes)


def make_watches(es: Elasticsearch, names: IndexNames, count: int, rng: random.Random) -> None:
    sync_group_watches(es, names, [{"id": g, "name": g} for g in GROUPS], channels=["hook"])
    for i in range(count - len(GROUPS)):
        add_query_watch(es, names, f"bench query {i}", random_query(rng), channels=["hook"])


def latency(es: Elasticsearch, names: IndexNames, hook: WebhookChannel, arrivals: Arrivals, rounds: int) -> list[float]:
    """Seconds from the start of each article's bulk write to its alert's arrival at the receiver."""
    rng = random.Random(7)
    figures = []
    for n in range(rounds):
        doc = article(n, rng, group="islamic-state")
        started = time.perf_counter()
        index_articles(es, names, [doc])
        match_since_checkpoint(es, names)
        items = deliveries_from_docs(pending_deliveries(es, names))
        record_deliveries(es, names, deliver(items, {"hook": hook}, backoff_s=0.05))
        figures.append(arrivals.first_seen[alert_id(group_watch_id("islamic-state"), doc["id"])] - started)
    return figures


def throughput(es: Elasticsearch, names: IndexNames, docs: int) -> tuple[float, int, int]:
    rng = random.Random(11)
    batch = [article(n, rng, group=rng.choice([None, None, "aqim"])) for n in range(docs)]
    index_articles(es, names, batch)
    es.indices.refresh(index=names.articles)
    watches = list_watches(es, names, enabled_only=True)
    started = time.perf_counter()
    matches = match_articles(es, names, [d["id"] for d in batch], watches, only_after_creation=False)
    return time.perf_counter() - started, len(watches), len(matches)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:9200")
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    es = make_client(url=args.url, request_timeout=120)
    names = IndexNames(prefix=f"bench-alerts-{uuid.uuid4().hex[:8]}-")
    arrivals = Arrivals()
    hook = WebhookChannel(
        name="hook", url=arrivals.url, secret=Secret("bench"), rules=AddressRules(allow_loopback=True)
    )
    try:
        setup_indices(es, names)
        setup_alert_indices(es, names)
        t0 = time.perf_counter()
        make_watches(es, names, args.watches, random.Random(3))
        print(f"watches: {args.watches} created in {time.perf_counter() - t0:.1f} s")
        lat = latency(es, names, hook, arrivals, args.rounds)
        print(
            f"bulk write -> delivered ({args.rounds} rounds, {args.watches} watches): "
            f"p50 {statistics.median(lat) * 1000:.0f} ms, p95 {percentile(lat, 0.95) * 1000:.0f} ms, "
            f"max {max(lat) * 1000:.0f} ms"
        )
        elapsed, watch_count, found = throughput(es, names, args.docs)
        print(
            f"matching: {args.docs} articles x {watch_count} watches in {elapsed:.2f} s = "
            f"{args.docs / elapsed:.0f} articles/s, {args.docs * watch_count / elapsed:,.0f} watch-article checks/s "
            f"({found} matches)"
        )
    finally:
        hook.close()
        arrivals.server.shutdown()
        found = es.indices.get(index=f"{names.prefix}*", expand_wildcards="all", allow_no_indices=True)
        if found:
            es.indices.delete(index=",".join(found), ignore_unavailable=True)
        es.options(ignore_status=404).indices.delete_index_template(name=names.articles_template)
        es.close()


if __name__ == "__main__":
    main()
