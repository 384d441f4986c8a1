"""Writes and refreshes of the alerts index per alert: claim in a round trip of its own versus in the create.

    .venv/bin/python bench/bench_alert_writes.py --url http://127.0.0.1:9260 [--batches 20] [--per-batch 5]

Each micro-batch creates ``--per-batch`` alerts for one webhook channel and delivers them as the runner does:
``outbox`` (before): create, read the outbox, claim (mget + guarded bulk), send, record; ``creation claim``
(after): create with the claim (``CreationClaim``), send from the created documents, record. Figures from the
alerts index's ``_stats`` (index operations, refreshes) and the wall time per alert. Prints one JSON line;
asserts nothing. Everything it creates is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from bench.bench_alerts import Arrivals
from notify import AddressRules, Secret, WebhookChannel, deliver, deliveries_from_docs
from search.alerting.alerts import CreationClaim, create_alerts, pending_deliveries, record_deliveries
from search.alerting.indices import setup_alert_indices
from search.alerting.matching import Match
from search.alerting.outbox import claim_deliveries
from search.client import make_client
from search.names import IndexNames


def _match(n: int) -> Match:
    return Match(watch_id="w", watch_name="w", watch_kind="query", channels=("hook",), group_id=None, group_name=None,
                 article_id=f"a{n}-{uuid.uuid4().hex[:6]}", title="t", url="https://x.example/", source="s",
                 published_at=None, indexed_at=None, content_hash=None, surface_forms=(), passage="")  # fmt: skip


def _stats(es: Elasticsearch, index: str) -> tuple[int, int]:
    total = es.indices.stats(index=index, metric="indexing,refresh").body["_all"]["primaries"]
    return int(total["indexing"]["index_total"]), int(total["refresh"]["total"])


def run(
    es: Elasticsearch, names: IndexNames, hook: WebhookChannel, batches: int, per: int, claim: bool
) -> dict[str, Any]:
    owner = "bench-runner"
    writes0, refreshes0 = _stats(es, names.alerts)
    began = time.perf_counter()
    for b in range(batches):
        now = datetime.now(UTC)
        matches = [_match(b * per + n) for n in range(per)]
        if claim:
            held = CreationClaim(owner=owner, ttl_s=300, channels=frozenset({"hook"}))
            report = create_alerts(es, names, matches, now=now, claim=held)
            docs = report.claimed
        else:
            create_alerts(es, names, matches, now=now)
            pending = pending_deliveries(es, names, now=now, channels=["hook"])
            docs = claim_deliveries(es, names, pending, owner=owner, ttl_s=300, now=now, channels=["hook"]).claimed
        outcomes = deliver(deliveries_from_docs(docs, claimed_by=owner), {"hook": hook}, backoff_s=0.01)
        record_deliveries(es, names, outcomes, owner=owner)
    alerts = batches * per
    writes, refreshes = _stats(es, names.alerts)
    return {
        "index_ops_per_alert": round((writes - writes0) / alerts, 2),
        "refreshes_per_batch": round((refreshes - refreshes0) / batches, 2),
        "ms_per_alert": round((time.perf_counter() - began) * 1000 / alerts, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:9200")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--per-batch", type=int, default=5)
    args = parser.parse_args()
    es = make_client(url=args.url, request_timeout=120)
    arrivals = Arrivals()
    rules = AddressRules(allow_loopback=True)
    hook = WebhookChannel(name="hook", url=arrivals.url, secret=Secret("bench"), rules=rules)
    out: dict[str, Any] = {}
    try:
        for label, claim in (("outbox", False), ("creation_claim", True), ("outbox_again", False)):
            names = IndexNames(prefix=f"bench-aw-{uuid.uuid4().hex[:8]}-")
            setup_alert_indices(es, names)
            try:
                out[label] = run(es, names, hook, args.batches, args.per_batch, claim)
            finally:
                es.indices.delete(index=f"{names.prefix}*", ignore_unavailable=True)
    finally:
        hook.close()
        arrivals.server.shutdown()
        es.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
