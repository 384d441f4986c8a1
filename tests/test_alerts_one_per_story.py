"""One notification per (channel, story) listing every watch it matched, while each watch keeps its own alert;
and a later report of an alerted story in another language (joined after NER) is recorded, not sent again.

Real node, real webhook receiver, real aiosmtpd, the real tagger over the cross-language golden reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from enrich.places.resolve import default_resolver
from enrich.stories import NewArticle, assign_stories
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from notify import AddressRules, EmailChannel, WebhookChannel, deliver, deliveries_from_docs
from search.alerting.alerts import alert_id, list_alerts, pending_deliveries, record_deliveries
from search.alerting.reconcile import alert_on_articles
from search.alerting.watches import group_watch_id, sync_group_watches
from search.bulk import index_articles, update_entities
from search.names import IndexNames
from search.reuse import articles_waiting_for_entities
from search.stories import EsStoryStore, story_fields
from tests.support.alerting import (
    Receiver,
    SmtpSink,
    article,
    index_prefix,  # noqa: F401  (overrides conftest's: see its docstring)
    setup_store,
)
from tests.support.search_docs import make_doc
from wirewatch.reuse import entity_updates, settle_story_alerts

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden_crossstory" / "reports.json"
REPORTS = {r["id"]: r for r in json.loads(GOLDEN.read_text())["reports"]}
LOOPBACK = AddressRules(allow_loopback=True)
SAHEL = [{"id": "jnim", "name": "JNIM"}, {"id": "aqim", "name": "AQIM"}, {"id": "ansar-dine", "name": "Ansar Dine"}]
THREE = "JNIM, which grew out of AQIM and Ansar Dine, claimed the attack near Gao on Monday, officials said."


@pytest.fixture()
def store(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    return setup_store(es, index_names)


@pytest.fixture()
def sink() -> Iterator[SmtpSink]:
    running = SmtpSink()
    yield running
    running.stop()


def _deliver(es: Elasticsearch, names: IndexNames, channels: dict[str, Any], **options: Any) -> None:
    pending = deliveries_from_docs(pending_deliveries(es, names))
    outcomes = deliver(pending, channels, backoff_s=0.01, **options)
    record_deliveries(es, names, outcomes)


def _states(es: Elasticsearch, names: IndexNames) -> dict[str, list[str]]:
    es.indices.refresh(index=names.alerts)
    return {a["watch"]["name"]: [d["state"] for d in a["deliveries"]] for a in list_alerts(es, names)}


def test_an_article_naming_three_groups_is_one_message_per_channel(
    es: Elasticsearch, store: IndexNames, receiver: Receiver, sink: SmtpSink
) -> None:
    sync_group_watches(es, store, SAHEL, channels=["hook", "mail"])
    groups = {"jnim": ("JNIM", "JNIM"), "aqim": ("AQIM", "AQIM"), "ansar-dine": ("Ansar Dine", "Ansar Dine")}
    index_articles(es, store, [article("three", title="Attack <near> Gao", text=THREE, groups=groups)])
    es.indices.refresh(index=store.articles)
    assert len(alert_on_articles(es, store, ["three"]).created) == 3  # each watch records its own alert
    mail = EmailChannel(name="mail", host="127.0.0.1", port=sink.port, sender="ww@example.org",
                        recipients=("desk@example.org",), security="none", rules=LOOPBACK)  # fmt: skip
    channels = {"hook": WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK), "mail": mail}
    _deliver(es, store, channels)
    _deliver(es, store, channels)  # nothing is due any more: nothing is sent twice

    [request] = receiver.requests
    body = json.loads(request.body)
    assert sorted(body["watches"]) == ["AQIM", "Ansar Dine", "JNIM"]
    assert {a["id"] for a in body["alerts"]} == {alert_id(group_watch_id(g["id"]), "three") for g in SAHEL}
    assert request.headers["Idempotency-Key"].startswith("story-")
    [message] = sink.messages
    assert all(name in message["Subject"] for name in ("JNIM", "AQIM", "Ansar Dine"))
    assert message["Subject"].count("Attack <near> Gao") == 1
    assert isinstance(message, EmailMessage)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Attack &lt;near&gt; Gao" in html and "<near>" not in html
    assert _states(es, store) == {g["name"]: ["delivered", "delivered"] for g in SAHEL}


def test_a_failed_story_message_retries_every_alert_it_holds(
    es: Elasticsearch, store: IndexNames, receiver: Receiver
) -> None:
    sync_group_watches(es, store, SAHEL, channels=["hook"])
    groups = {"jnim": ("JNIM", "JNIM"), "aqim": ("AQIM", "AQIM")}
    index_articles(es, store, [article("two", title="Claim", text=THREE, groups=groups)])
    es.indices.refresh(index=store.articles)
    alert_on_articles(es, store, ["two"])
    receiver.statuses = [503]
    channels = {"hook": WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK)}
    _deliver(es, store, channels, max_attempts=1)
    assert _states(es, store) == {"JNIM": ["pending"], "AQIM": ["pending"]}  # both wait: neither was shown
    _deliver(es, store, channels, max_attempts=1)
    assert len(receiver.requests) == 2
    assert [len(json.loads(r.body)["alerts"]) for r in receiver.requests] == [2, 2]
    assert receiver.requests[0].headers["Idempotency-Key"] == receiver.requests[1].headers["Idempotency-Key"]
    assert _states(es, store) == {"JNIM": ["delivered"], "AQIM": ["delivered"]}


@pytest.fixture(scope="module")
def tagger() -> Iterator[Tagger]:
    watchlist = load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml")
    with Tagger(watchlist=watchlist, workers=1, places=default_resolver()) as opened:
        yield opened


def _write(es: Elasticsearch, names: IndexNames, tagger: Tagger, report_id: str) -> None:
    """What the writer does before NER: the gazetteer's group tags, the MinHash story, the document."""
    report = REPORTS[report_id]
    published = datetime.fromisoformat(report["day"] + "T09:00:00+00:00")
    es.indices.refresh(index=names.articles)
    new = NewArticle(id=report_id, text=report["text"], seen_at=published)
    [story] = assign_stories([new], EsStoryStore(es, names))
    tags = tagger.groups_of([report["text"]], [report["lang"]])[0].to_dict()
    doc = make_doc(report_id, title=report["text"][:60], text=report["text"], language=report["lang"],
                   published_at=published.isoformat(), source=report_id)  # fmt: skip
    doc.update(groups=tags["groups"], group_ids=tags["group_ids"])
    doc.update(story_fields(story.story_id, story.story_first_seen, story.band_keys, story.signature))
    assert not index_articles(es, names, [doc]).failed
    es.indices.refresh(index=names.articles)
    assert alert_on_articles(es, names, [report_id]).created  # matched before NER, as the engine does


def _ner(es: Elasticsearch, names: IndexNames, tagger: Tagger) -> None:
    es.indices.refresh(index=names.articles)
    plan = entity_updates(es, names, tagger, articles_waiting_for_entities(es, names), story_days=3)
    report = update_entities(es, names, plan.updates)
    settle_story_alerts(es, names, plan, report.written)
    es.indices.refresh(index=names.articles)


def _alerts(es: Elasticsearch, names: IndexNames) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=names.alerts)
    return {a["article_id"]: a for a in list_alerts(es, names)}


def test_reports_in_three_languages_are_one_alert_sent_once(
    es: Elasticsearch, store: IndexNames, receiver: Receiver, tagger: Tagger
) -> None:
    sync_group_watches(es, store, [{"id": "jnim", "name": "JNIM"}], channels=["hook"])
    channels = {"hook": WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK)}
    for report_id in ["amb-fr", "amb-en", "amb-ar"]:  # each written, matched, through NER, then the outbox
        _write(es, store, tagger, report_id)
        _ner(es, store, tagger)
        _deliver(es, store, channels)
    assert [json.loads(r.body)["alert"]["article_id"] for r in receiver.requests] == ["amb-fr"]
    alerts = _alerts(es, store)
    assert set(alerts) == {"amb-fr", "amb-en", "amb-ar"}  # every report stays visible in the inbox
    first = alerts["amb-fr"]
    for later in ("amb-en", "amb-ar"):
        assert alerts[later]["suppressed_by"] == first["id"] and alerts[later]["story_id"] == "amb-fr"
        assert [d["state"] for d in alerts[later]["deliveries"]] == ["suppressed"]
    assert [s["article_id"] for s in first["also_seen"]] == ["amb-en", "amb-ar"]
    before = {k: v["deliveries"] for k, v in alerts.items()}
    _ner(es, store, tagger)  # settling again changes nothing
    assert {k: v["deliveries"] for k, v in _alerts(es, store).items()} == before


def test_a_report_sent_before_its_join_stays_sent_and_the_next_one_is_suppressed(
    es: Elasticsearch, store: IndexNames, receiver: Receiver, tagger: Tagger
) -> None:
    sync_group_watches(es, store, [{"id": "jnim", "name": "JNIM"}], channels=["hook"])
    channels = {"hook": WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK)}
    _write(es, store, tagger, "amb-fr")
    _ner(es, store, tagger)
    _write(es, store, tagger, "amb-en")
    _deliver(es, store, channels)  # group alerts never wait for NER: both go out before the join is known
    _ner(es, store, tagger)
    _write(es, store, tagger, "amb-ar")
    _ner(es, store, tagger)
    _deliver(es, store, channels)
    assert sorted(json.loads(r.body)["alert"]["article_id"] for r in receiver.requests) == ["amb-en", "amb-fr"]
    alerts = _alerts(es, store)
    assert [d["state"] for d in alerts["amb-en"]["deliveries"]] == ["delivered"]  # a message is never taken back
    assert "suppressed_by" not in alerts["amb-en"] and alerts["amb-en"]["story_id"] == "amb-fr"
    assert alerts["amb-ar"]["suppressed_by"] == alerts["amb-fr"]["id"]
    assert [d["state"] for d in alerts["amb-ar"]["deliveries"]] == ["suppressed"]
