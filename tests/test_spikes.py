"""Spike watch per group, on the real node: 14 days of low counts then a day of many mentions raise exactly one
spike alert (once per day: a second run raises none), delivered through the outbox to the group's channel and
listed by ``wirewatch alerts list`` with its numbers; a day within the band raises none."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.alerting.spikes import evaluate, spike_alert_id
from search.alerting.watches import sync_group_watches
from search.bulk import index_articles
from search.names import IndexNames
from tests.support.alerting import (
    Receiver,
    article,
    index_prefix,  # noqa: F401  (overrides conftest's: see its docstring)
    setup_store,
)
from wirewatch.cli import cli as root_cli
from wirewatch.pipeline import deliver_alerts, match_watches
from wirewatch.runtime import Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.summary import PassSummary

GROUPS = {"islamic-state": "Islamic State", "al-qaeda": "al-Qaeda"}
# the 14 days before today, oldest first, then today
LOW_THEN_MANY = [1, 2, 1, 0, 2, 1, 1, 2, 1, 0, 1, 2, 1, 1, 12]
WITHIN_BAND = [5, 8, 4, 9, 6, 7, 5, 8, 6, 7, 4, 9, 5, 8, 9]  # mean 6.5, sd 1.68: 9 is below 6.5 + 3 sd


def test_a_spike_needs_the_band_and_the_minimum_count() -> None:
    spike = evaluate("g", LOW_THEN_MANY, day="d", k=3.0, min_count=5)
    assert spike.is_spike and spike.count == 12 and spike.window_days == 14
    assert abs(spike.mean - 16 / 14) < 1e-9 and spike.threshold < 4
    assert not evaluate("g", WITHIN_BAND, day="d", k=3.0, min_count=5).is_spike
    flat = [0] * 14
    assert not evaluate("g", [*flat, 4], day="d", k=3.0, min_count=5).is_spike  # above the band, too few
    assert evaluate("g", [*flat, 5], day="d", k=3.0, min_count=5).is_spike


def _articles(today: datetime) -> list[dict[str, Any]]:
    docs = []
    for gid, counts in (("islamic-state", LOW_THEN_MANY), ("al-qaeda", WITHIN_BAND)):
        for back, count in enumerate(reversed(counts)):
            day = today - timedelta(days=back)
            for n in range(count):
                doc = article(
                    f"{gid}-{back}-{n}", title=f"{GROUPS[gid]} report {back}/{n}",
                    text=f"Fighters of {GROUPS[gid]} were reported near town {back}-{n}.",
                    groups={gid: (GROUPS[gid], GROUPS[gid])},
                )  # fmt: skip
                # today's last mention has no publication date: it counts on the day it was indexed
                published = day.replace(hour=0, minute=5) + timedelta(minutes=n)
                doc["published_at"] = None if back == 0 and n == count - 1 else published.isoformat()
                docs.append(doc)
    return docs


@pytest.fixture()
def rt(es_url: str, index_prefix: str, receiver: Receiver, tmp_path: Path) -> Any:  # noqa: F811
    channels = tmp_path / "channels.yaml"
    channels.write_text(yaml.safe_dump([{"name": "hook", "type": "webhook", "url": receiver.url}]))
    settings = load_settings(
        es_url=es_url, es_index_prefix=index_prefix, channels_file=channels, delivery_allow_loopback=True,
        delivery_backoff_s=0.01, spike_k=3.0, spike_min_count=5,
    )  # fmt: skip
    runtime = build_runtime(settings)
    yield runtime
    runtime.es.close()


def _spike_alerts(es: Elasticsearch, names: IndexNames) -> list[dict[str, Any]]:
    es.indices.refresh(index=names.alerts)
    found = es.search(index=names.alerts, query={"term": {"watch.kind": "spike"}}, size=20)
    return [h["_source"] for h in found["hits"]["hits"]]


@pytest.mark.slow
def test_a_day_of_many_mentions_raises_one_spike_alert_delivered_once(
    rt: Runtime, receiver: Receiver, es_url: str, tmp_path: Path
) -> None:
    setup_store(rt.es, rt.names)
    sync_group_watches(rt.es, rt.names, [{"id": g, "name": n} for g, n in GROUPS.items()], channels=["hook"])
    today = datetime.now(UTC)
    assert not index_articles(rt.es, rt.names, _articles(today)).failed
    rt.es.indices.refresh(index=rt.names.articles)

    first = PassSummary()
    match_watches(rt, first)  # the match step: story alerts, then the spike check
    assert first.alerts["spikes"] == 1
    [spike] = _spike_alerts(rt.es, rt.names)
    assert spike["id"] == spike_alert_id("islamic-state", today.date().isoformat())
    assert spike["group"]["id"] == "islamic-state" and spike["watch"]["name"] == "spike: Islamic State"
    numbers = spike["spike"]
    assert numbers["count"] == 12 and numbers["mean"] == 1.143 and numbers["window_days"] == 14
    assert numbers["day"] == today.date().isoformat() and numbers["threshold"] < 4
    assert [d["channel"] for d in spike["deliveries"]] == ["hook"]

    again = PassSummary()
    match_watches(rt, again)
    assert again.alerts["spikes"] == 0 and len(_spike_alerts(rt.es, rt.names)) == 1  # once per day per group

    deliver_alerts(rt, PassSummary())
    deliver_alerts(rt, PassSummary())
    payloads = [json.loads(r.body)["alert"] for r in receiver.requests]
    spikes = [p for p in payloads if p["watch_id"] == "spike-islamic-state"]
    assert len(spikes) == 1 and spikes[0]["spike"]["count"] == 12
    assert not [p for p in payloads if p["watch_id"].startswith("spike-") and p is not spikes[0]]
    [delivered] = _spike_alerts(rt.es, rt.names)
    assert delivered["deliveries"][0]["state"] == "delivered"

    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": rt.settings.es_index_prefix,
           "WIREWATCH_CONFIG": "", "COLUMNS": "250"}  # fmt: skip
    table = CliRunner().invoke(root_cli, ["alerts", "list", "--watch", "spike: Islamic State"], env=env)
    assert table.exit_code == 0, table.output
    assert "spike: Islamic State" in table.stdout and "Spike: 12 mentions" in table.stdout
    listed = json.loads(CliRunner().invoke(root_cli, ["alerts", "list", "--json"], env=env).stdout)
    assert [a["spike"]["count"] for a in listed if a["watch"]["kind"] == "spike"] == [12]
