"""STIX export and the TAXII feed: 1,000 alerts (by default) as one bundle, and the same pulled over TAXII.

    python -m bench.bench_stix [--alerts 1000] [--runs 3]

1,000 articles naming one of the default watchlist's groups, a country and a town, a person and an
organisation, each with its alert, are written under a fresh index prefix (deleted afterwards). Timed: the
export as ``wirewatch stix export`` runs it (alerts page by page, their articles, the STIX objects, the streamed
bundle), the validation of that bundle (the stix2 parser, the OASIS validator), and a TAXII pull of the whole
``alerts`` collection with taxii2-client (1,000 objects a page) from the workbench on loopback. Elasticsearch is
``$WIREWATCH_ES_URL`` (required). Writes ``bench/results/stix.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import stix2
from elasticsearch import Elasticsearch
from stix2validator import validate_string
from taxii2client.v21 import Server, as_pages

from bench.corpus import WATCHLIST
from bench.measure import machine_info
from enrich.watchlist import load_watchlist
from search.alerting.alerts import alert_id
from search.alerting.scan import AlertFilter
from search.names import IndexNames
from tests.support.alerting import setup_store
from tests.support.web import WebServer, fill, web_settings
from wirewatch.stix.bundle import BundleStats, stream_bundle
from wirewatch.stix.export import TlpPolicy, alert_batches

RESULTS = Path(__file__).resolve().parent / "results" / "stix.json"
PLACES = [("Libya", "Benghazi"), ("Mali", "Gao"), ("Niger", "Tillabéri"), ("Somalia", "Mogadishu"),
          ("Nigeria", "Maiduguri"), ("Burkina Faso", "Djibo"), ("Mozambique", "Mocímboa da Praia")]  # fmt: skip
PEOPLE = ["Khalifa Haftar", "Iyad Ag Ghaly", "Ahmed Diriye", "Abu Bakr Shekau", "Assimi Goïta"]
ORGS = ["African Union", "Libyan National Army", "MINUSMA", "ECOWAS"]


def write_corpus(es: Elasticsearch, names: IndexNames, count: int) -> None:
    groups = list(load_watchlist(WATCHLIST))
    setup_store(es, names)
    start = datetime(2024, 6, 1, tzinfo=UTC)
    articles, operations = [], []
    for i in range(count):
        group, (country, town) = groups[i % len(groups)], PLACES[i % len(PLACES)]
        doc_id = f"stix-{i:05d}"
        articles.append({
            "id": doc_id, "url": f"https://news.example.org/{doc_id}", "canonical_url": f"https://news.example.org/{doc_id}",
            "source": f"wire-{i % 17}", "title": f"{group.name} attack near {town}, {country} ({i})",
            "text": f"Fighters of the {group.name} attacked a post near {town}.", "language": "en",
            "published_at": (start + timedelta(minutes=i)).isoformat(),
            "groups": [{"id": group.id, "name": group.name}], "group_ids": [group.id],
            "entity_names": {"gpe": [country, town], "person": [PEOPLE[i % len(PEOPLE)]], "org": [ORGS[i % len(ORGS)]]},
        })  # fmt: skip
        aid = alert_id(f"group-{group.id}", doc_id)
        operations += [{"create": {"_index": names.alerts, "_id": aid}}, {
            "id": aid, "watch": {"id": f"group-{group.id}", "name": group.name, "kind": "group"},
            "group": {"id": group.id, "name": group.name}, "article_id": doc_id, "story_id": doc_id,
            "title": articles[-1]["title"], "url": articles[-1]["url"], "source": articles[-1]["source"],
            "published_at": articles[-1]["published_at"], "passage": f"the «{group.name}» attacked",
            "created_at": (start + timedelta(minutes=i, seconds=5)).isoformat(), "also_seen": [], "deliveries": [],
        }]  # fmt: skip
    fill(es, names, articles)
    for at in range(0, len(operations), 2000):
        es.bulk(operations=operations[at : at + 2000])
    es.indices.refresh(index=names.alerts)


def export_once(es: Elasticsearch, names: IndexNames) -> tuple[float, float, str, BundleStats]:
    watchlist = load_watchlist(WATCHLIST)
    stats = BundleStats()
    wall, cpu = time.perf_counter(), time.process_time()
    text = "".join(stream_bundle(alert_batches(es, names, AlertFilter(), watchlist, TlpPolicy()), stats))
    return time.perf_counter() - wall, time.process_time() - cpu, text, stats


def taxii_pull(es_url: str, prefix: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = web_settings(es_url, prefix, Path(tmp), auth=False).model_copy(update={"watchlist_file": WATCHLIST})
        with WebServer(settings) as server:
            alerts = next(c for c in Server(f"{server.url}/taxii2/").default.collections if c.title == "alerts")
            wall = time.perf_counter()
            pages = list(as_pages(alerts.get_objects, per_request=1000))
            seconds = time.perf_counter() - wall
    reports = sum(1 for page in pages for obj in page.get("objects", []) if obj["type"] == "report")
    return {"seconds": round(seconds, 3), "pages": len(pages), "reports": reports}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    es_url = os.environ["WIREWATCH_ES_URL"]
    es = Elasticsearch(es_url, request_timeout=60)
    prefix = f"bench-stix-{uuid.uuid4().hex[:8]}-"
    names = IndexNames(prefix=prefix)
    try:
        write_corpus(es, names, args.alerts)
        export_once(es, names)  # warm-up: the node's caches, the libraries' first calls
        runs = [export_once(es, names) for _ in range(args.runs)]
        text, stats = runs[-1][2], runs[-1][3]
        wall = time.perf_counter()
        stix2.parse(text, allow_custom=False)
        parse_s = time.perf_counter() - wall
        wall = time.perf_counter()
        valid = validate_string(text).is_valid
        validate_s = time.perf_counter() - wall
        taxii = taxii_pull(es_url, prefix)
    finally:
        found = es.indices.get(index=f"{prefix}*", expand_wildcards="all", allow_no_indices=True)
        if found:
            es.indices.delete(index=",".join(found), ignore_unavailable=True)
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")
    results = {
        "alerts": args.alerts, "reports": stats.reports, "objects": stats.objects, "bundle_bytes": len(text),
        "export_wall_s": [round(r[0], 3) for r in runs], "export_cpu_s": [round(r[1], 3) for r in runs],
        "export_wall_median_s": round(statistics.median(r[0] for r in runs), 3),
        "stix2_parse_s": round(parse_s, 3), "validator_s": round(validate_s, 3), "valid": valid,
        "taxii_pull": taxii, "machine": machine_info(),
    }  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
