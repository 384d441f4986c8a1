"""What the check counts, from the cluster and the receivers, as one flat dict (compared, then printed).

``cluster_counts`` is the dict of the JSON line without the run's own facts (kills, timings): two calls around a
second trigger must return the same dict when nothing changed, and a metrics scrape can be set beside it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from elasticsearch import Elasticsearch

from bench.cluster.procs import free_port
from search.names import IndexNames


class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps the alert ids of every message it accepted."""

    def __init__(self) -> None:
        self.alert_ids: Counter[str] = Counter()
        self.messages = 0
        self.truncated = 0
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0)
        header = str(message_from_bytes(envelope.content, policy=policy.default)["X-Wirewatch-Alert-Ids"] or "")
        with self._lock:
            self.messages += 1
            self.truncated += len(header) >= 900  # the sender cuts the header at 900 characters
            self.alert_ids.update(i.strip() for i in header.split(",") if i.strip())  # folded: ", "
        return "250 OK"

    def stop(self) -> None:
        self._controller.stop()


def webhook_ids(receipts: Path) -> Counter[str]:
    """Idempotency keys of every POST the feed farm's /hook received (bench/server.py writes one line each)."""
    import json

    lines = receipts.read_text(encoding="utf-8").splitlines() if receipts.exists() else []
    return Counter(str(json.loads(line)["id"]) for line in lines if line.strip())


def _all(es: Elasticsearch, index: str, fields: list[str]) -> list[dict[str, Any]]:
    es.indices.refresh(index=index)
    hits = es.search(index=index, query={"match_all": {}}, source_includes=fields, size=10000)["hits"]["hits"]
    return [{"_id": h["_id"], **h["_source"]} for h in hits]


def cluster_counts(es: Elasticsearch, names: IndexNames, *, articles_expected: int, feeds: int,
                   mailbox: Mailbox, receipts: Path) -> dict[str, Any]:  # fmt: skip
    """Articles, alerts, deliveries and feed states as the cluster and the two receivers see them."""
    articles = _all(es, names.articles, ["url"])
    by_url = Counter(str(a.get("url")) for a in articles)
    alerts = [a for a in _all(es, names.alerts, ["watch.id", "article_id", "attached_to", "deliveries"])
              if not a.get("attached_to")]  # fmt: skip
    by_match = Counter((a["watch"]["id"], a["article_id"]) for a in alerts)
    ids = {a["_id"] for a in alerts}
    posted, mailed = webhook_ids(receipts), mailbox.alert_ids
    states = _all(es, names.feeds, ["feed_id"])
    return {
        "articles_expected": articles_expected,
        "articles_indexed": len(articles),
        "duplicate_articles": sum(n - 1 for n in by_url.values()),
        "alerts_created": len(alerts),
        "duplicate_alerts": sum(n - 1 for n in by_match.values()),
        "deliveries_webhook": sum(posted.values()),
        "deliveries_email": sum(mailed.values()),
        "duplicate_deliveries": sum(n - 1 for n in posted.values()) + sum(n - 1 for n in mailed.values()),
        "undelivered_alerts": len([i for i in ids if not posted[i] or not mailed[i]]),
        "deliveries_not_marked": len(
            [a for a in alerts if any(d.get("state") != "delivered" for d in a.get("deliveries") or [])]
        ),
        "unknown_deliveries": len((set(posted) | set(mailed)) - ids),
        "mail_headers_truncated": mailbox.truncated,
        "feeds": feeds,
        "feed_states_committed": len({s.get("feed_id") for s in states}),
    }
