"""A small alerted corpus for the STIX and TAXII tests: a watchlist, articles with places and people, and the
alerts real matching raises for them (or, for the volume tests, alert documents written in bulk)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from search.alerting.alerts import alert_id
from search.alerting.reconcile import alert_on_articles
from search.alerting.watches import sync_group_watches
from search.names import IndexNames
from tests.support.alerting import article, setup_store
from tests.support.web import fill

WATCHLIST = """\
groups:
  - id: islamic-state
    name: Islamic State
    wikidata: Q2429253
    aliases: [Daesh, "l'État islamique", داعش, الدولة الإسلامية]
    case_sensitive: [ISIS]
  - id: nowiki
    name: Katibat Nowhere
    aliases: [كتيبة لا مكان]
"""
HOSTILE = '"]}\u0000<script>alert(1)</script>\u202e\r\nEvil: x'


def write_watchlist(tmp: Path) -> Path:
    path = tmp / "watchlist.yaml"
    path.write_text(WATCHLIST, encoding="utf-8")
    return path


def places_article(doc_id: str, *, group: str = "islamic-state", name: str = "Islamic State") -> dict[str, Any]:
    doc = article(doc_id, title=f"{name} attack near Benghazi ({doc_id})",
                  text=f"Fighters of the {name} attacked a post near Benghazi in Libya ({doc_id}). Haftar spoke.",
                  groups={group: (name, name)}, source="wire-a")  # fmt: skip
    doc["entity_names"] = {"gpe": ["Libya", "Benghazi"], "person": ["Khalifa Haftar"],
                           "org": ["Libyan National Army", name]}  # fmt: skip
    return doc


def alerted(
    es: Elasticsearch,
    names: IndexNames,
    docs: list[dict[str, Any]],
    groups: list[dict[str, str]],
    *,
    channels: tuple[str, ...] = ("file",),
) -> list[str]:
    """Group watches for ``groups``, then ``docs`` indexed and matched: the ids of the alerts raised."""
    setup_store(es, names)
    sync_group_watches(es, names, groups, channels=list(channels))
    fill(es, names, docs)
    return alert_on_articles(es, names, [d["id"] for d in docs]).created


def bulk_alerts(es: Elasticsearch, names: IndexNames, count: int, *, start: datetime | None = None) -> None:
    """``count`` alert documents of the islamic-state watch over a few articles, one second apart."""
    setup_store(es, names)
    sync_group_watches(es, names, [{"id": "islamic-state", "name": "Islamic State"}], channels=["file"])
    docs = [places_article(f"bulk-{i}") for i in range(5)]
    fill(es, names, docs)
    start = start or datetime(2024, 6, 1, tzinfo=UTC)
    operations: list[dict[str, Any]] = []
    for i in range(count):
        doc = docs[i % len(docs)]
        aid = alert_id("group-islamic-state", f"story-{i}")
        operations += [{"create": {"_index": names.alerts, "_id": aid}}, {
            "id": aid, "watch": {"id": "group-islamic-state", "name": "Islamic State", "kind": "group"},
            "group": {"id": "islamic-state", "name": "Islamic State"}, "article_id": doc["id"],
            "story_id": f"story-{i}", "title": f"{doc['title']} #{i}", "url": f"https://news.example.org/s/{i}",
            "source": "wire-a", "published_at": doc["published_at"], "surface_forms": ["Islamic State"],
            "passage": "the «Islamic State» attacked", "created_at": (start + timedelta(seconds=i)).isoformat(),
            "also_seen": [], "deliveries": [],
        }]  # fmt: skip
        if len(operations) >= 2000:
            es.bulk(operations=operations)
            operations = []
    if operations:
        es.bulk(operations=operations)
    es.indices.refresh(index=names.alerts)
