"""Watches, exactly-once alerts and the delivery outbox against the real Elasticsearch node."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from notify import AddressRules, EmailChannel, WebhookChannel, deliver, deliveries_from_docs
from search.alerting.alerts import alert_id, list_alerts, pending_deliveries, record_deliveries
from search.alerting.matching import run_watch
from search.alerting.reconcile import alert_on_articles, match_since_checkpoint, read_checkpoint
from search.alerting.watches import add_query_watch, group_watch_id, list_watches, sync_group_watches
from search.bulk import index_articles
from search.errors import SearchUnavailable
from search.names import IndexNames
from tests.support.alerting import (
    Receiver,
    SmtpSink,
    article,
    index_prefix,  # noqa: F401  (overrides conftest's: see its docstring)
    setup_store,
)

GROUPS = [{"id": "islamic-state", "name": "Islamic State"}, {"id": "al-qaeda", "name": "al-Qaeda"}]
LOOPBACK = AddressRules(allow_loopback=True)

IS_TEXT = "Officials said fighters loyal to ISIS attacked a checkpoint near the border on Monday night."
AQ_TEXT = "A statement attributed to al-Qaeda in the Arabian Peninsula was posted online, analysts said."
CAR_TEXT = "A car bomb exploded outside the market; no group has claimed responsibility so far."


@pytest.fixture()
def store(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    return setup_store(es, index_names)


def write(es: Elasticsearch, names: IndexNames, *docs: dict[str, Any]) -> None:
    report = index_articles(es, names, list(docs), backoff_s=0.01)
    assert not report.failed, report.failed


def corpus() -> list[dict[str, Any]]:
    return [
        article("a-is", title="Border attack", text=IS_TEXT, groups={"islamic-state": ("Islamic State", "ISIS")}),
        article("a-aq", title="New statement", text=AQ_TEXT, groups={"al-qaeda": ("al-Qaeda", "al-Qaeda")}),
        article("a-none", title="Market blast", text=CAR_TEXT),
    ]


def test_each_group_mention_alerts_once_and_rematching_raises_nothing(es: Elasticsearch, store: IndexNames) -> None:
    sync_group_watches(es, store, GROUPS, channels=["hook"])
    write(es, store, *corpus())
    first = match_since_checkpoint(es, store)
    assert sorted(first.alerts.created) == sorted(
        [alert_id(group_watch_id("islamic-state"), "a-is"), alert_id(group_watch_id("al-qaeda"), "a-aq")]
    )
    alerts = {a["article_id"]: a for a in list_alerts(es, store)}
    assert set(alerts) == {"a-is", "a-aq"}
    is_alert = alerts["a-is"]
    assert is_alert["group"] == {"id": "islamic-state", "name": "Islamic State"}
    assert is_alert["surface_forms"] == ["ISIS"] and "loyal to «ISIS» attacked" in is_alert["passage"]
    assert is_alert["deliveries"] == [{"channel": "hook", "state": "pending", "attempts": 0}]
    assert (is_alert["title"], is_alert["source"], is_alert["url"]) == (
        "Border attack", "demo", "https://news.example.org/a-is",
    )  # fmt: skip

    second = match_since_checkpoint(es, store)  # the overlap re-matches recent articles: all already alerted
    assert second.alerts.created == [] and second.alerts.existing == 2
    again = alert_on_articles(es, store, ["a-is", "a-aq", "a-none"])
    assert again.created == [] and again.existing == 2
    # re-tagging rewrites the article (new indexed_at): still the same alert
    write(es, store, {**corpus()[0], "text": IS_TEXT + " More details emerged.", "content_hash": "changed"})
    assert match_since_checkpoint(es, store).alerts.created == []
    assert len(list_alerts(es, store)) == 2


def test_same_story_from_another_source_joins_the_first_alert(es: Elasticsearch, store: IndexNames) -> None:
    sync_group_watches(es, store, GROUPS, channels=["hook"])
    groups = {"islamic-state": ("Islamic State", "ISIS")}
    write(es, store, article("wire-1", title="Attack", text=IS_TEXT, groups=groups, source="agency"))
    match_since_checkpoint(es, store)
    copy = article("wire-2", title="Attack (copy)", text=IS_TEXT, groups=groups, source="reprint")
    write(es, store, copy)
    report = match_since_checkpoint(es, store)
    assert report.alerts.created == [] and len(report.alerts.attached) == 1
    [first] = list_alerts(es, store)
    assert first["article_id"] == "wire-1"
    assert [(s["article_id"], s["source"]) for s in first["also_seen"]] == [("wire-2", "reprint")]
    # matching the copy again neither alerts nor lists it twice
    assert alert_on_articles(es, store, ["wire-2"]).existing == 1
    assert len(list_alerts(es, store)[0]["also_seen"]) == 1


def test_two_copies_in_one_batch_raise_one_alert(es: Elasticsearch, store: IndexNames) -> None:
    sync_group_watches(es, store, GROUPS, channels=["hook"])
    groups = {"islamic-state": ("Islamic State", "ISIS")}
    write(es, store, *(article(f"c{n}", title="Same", text=IS_TEXT, groups=groups, source=f"s{n}") for n in (1, 2)))
    report = match_since_checkpoint(es, store)
    assert len(report.alerts.created) == 1 and len(report.alerts.attached) == 1
    [only] = list_alerts(es, store)
    assert len(only["also_seen"]) == 1


def test_an_outage_between_indexing_and_matching_loses_nothing(
    es: Elasticsearch, store: IndexNames, es_url: str
) -> None:
    sync_group_watches(es, store, GROUPS, channels=["hook"])
    write(es, store, corpus()[0])
    match_since_checkpoint(es, store)
    checkpoint = read_checkpoint(es, store)
    write(es, store, corpus()[1])  # indexed; the matching step then "crashes": Elasticsearch is unreachable
    dead = Elasticsearch("http://127.0.0.1:9", request_timeout=2, max_retries=0)
    with pytest.raises(SearchUnavailable):
        match_since_checkpoint(dead, store)
    assert read_checkpoint(es, store) == checkpoint
    report = match_since_checkpoint(es, store)
    assert report.alerts.created == [alert_id(group_watch_id("al-qaeda"), "a-aq")]
    assert read_checkpoint(es, store) != checkpoint


def test_group_watches_follow_the_watchlist(es: Elasticsearch, store: IndexNames) -> None:
    first = sync_group_watches(es, store, GROUPS, channels=["hook"])
    assert sorted(first.created) == ["group-al-qaeda", "group-islamic-state"]
    assert sync_group_watches(es, store, GROUPS, channels=["hook"]).unchanged == 2
    renamed = [{"id": "islamic-state", "name": "ISIL"}]
    report = sync_group_watches(es, store, renamed, channels=["hook", "mail"])
    assert report.updated == ["group-islamic-state"] and report.disabled == ["group-al-qaeda"]
    watches = {w.id: w for w in list_watches(es, store)}
    assert watches["group-islamic-state"].name == "ISIL"
    assert watches["group-islamic-state"].channels == ("hook", "mail")
    assert watches["group-al-qaeda"].enabled is False


def test_query_watch_added_after_ingest_tests_on_history_and_alerts_only_on_new(
    es: Elasticsearch, store: IndexNames
) -> None:
    write(es, store, *corpus())
    match_since_checkpoint(es, store)
    watch = add_query_watch(es, store, "Car bombs", '"car bomb"', channels=["hook"])
    history = run_watch(es, store, watch)
    assert [m.article_id for m in history] == ["a-none"]
    assert "«car bomb»" in history[0].passage.lower() and history[0].surface_forms
    # the old article is in the overlap that is re-matched, but predates the watch: no alert
    assert match_since_checkpoint(es, store).alerts.created == []
    write(es, store, article("a-new", title="Second blast", text="Another car bomb hit the city centre today."))
    report = match_since_checkpoint(es, store)
    assert report.alerts.created == [alert_id(watch.id, "a-new")]


def _pass(es: Elasticsearch, names: IndexNames, channels: dict[str, Any], *, now: datetime | None = None) -> list[Any]:
    """One delivery pass as the pipeline runs it: pending -> deliver -> record."""
    now = now or datetime.now(UTC)
    items = deliveries_from_docs(pending_deliveries(es, names, now=now), now=now)
    outcomes = deliver(items, channels, max_attempts=3, backoff_s=0.01)
    record_deliveries(es, names, outcomes)
    return outcomes


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def test_smtp_refusing_keeps_email_pending_and_never_resends_the_webhook(
    es: Elasticsearch, store: IndexNames, receiver: Receiver
) -> None:
    sync_group_watches(es, store, GROUPS[:1], channels=["hook", "mail"])
    write(es, store, corpus()[0])
    match_since_checkpoint(es, store)
    sink = SmtpSink(refuse_with="451 4.3.0 mailbox busy")
    try:
        mail = EmailChannel(
            name="mail", host="127.0.0.1", port=sink.port, sender="ww@example.org",
            recipients=("desk@example.org",), security="none", rules=LOOPBACK,
        )  # fmt: skip
        channels = {"hook": WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK), "mail": mail}
        _pass(es, store, channels)
        [alert] = list_alerts(es, store, state="pending")
        states = {d["channel"]: d for d in alert["deliveries"]}
        assert states["hook"]["state"] == "delivered" and states["hook"]["delivered_at"]
        assert states["mail"]["state"] == "pending" and states["mail"]["attempts"] == 3
        assert "451" in states["mail"]["last_error"]
        sink.refuse_with = None
        later = datetime.now(UTC) + timedelta(minutes=5)
        outcomes = _pass(es, store, channels, now=later)
    finally:
        sink.stop()
    assert [(o.channel, o.state) for o in outcomes] == [("mail", "delivered")]
    assert len(receiver.requests) == 1  # the webhook was not resent
    assert len(sink.messages) == 1
    assert list_alerts(es, store, state="pending") == []
    [done] = list_alerts(es, store)
    assert {d["channel"]: d["attempts"] for d in done["deliveries"]} == {"hook": 1, "mail": 4}


def test_500_twice_then_200_records_three_attempts(es: Elasticsearch, store: IndexNames) -> None:
    receiver = Receiver(statuses=[500, 500])
    try:
        sync_group_watches(es, store, GROUPS[:1], channels=["hook"])
        write(es, store, corpus()[0])
        match_since_checkpoint(es, store)
        _pass(es, store, {"hook": WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK)})
    finally:
        receiver.stop()
    [alert] = list_alerts(es, store)
    assert alert["deliveries"][0]["state"] == "delivered" and alert["deliveries"][0]["attempts"] == 3
    assert len(receiver.requests) == 3
    assert pending_deliveries(es, store) == []


def test_receiver_down_for_a_pass_then_delivered_on_the_next(es: Elasticsearch, store: IndexNames) -> None:
    receiver = Receiver()
    receiver.stop()
    sync_group_watches(es, store, GROUPS, channels=["hook"])
    write(es, store, *corpus())
    match_since_checkpoint(es, store)
    hook = WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK, timeout_s=2)
    _pass(es, store, {"hook": hook})
    assert len(list_alerts(es, store, state="pending")) == 2
    assert pending_deliveries(es, store, now=datetime.now(UTC) - timedelta(minutes=1)) == []  # backing off
    receiver.start()
    try:
        _pass(es, store, {"hook": hook}, now=datetime.now(UTC) + timedelta(minutes=5))
    finally:
        receiver.stop()
    assert len(receiver.requests) == 2
    assert list_alerts(es, store, state="pending") == []
    assert len(list_alerts(es, store, state="delivered")) == 2


def test_list_alerts_filters_by_watch_and_time(es: Elasticsearch, store: IndexNames) -> None:
    sync_group_watches(es, store, GROUPS, channels=["hook"])
    write(es, store, *corpus())
    match_since_checkpoint(es, store)
    assert [a["article_id"] for a in list_alerts(es, store, watch="al-Qaeda")] == ["a-aq"]
    assert [a["article_id"] for a in list_alerts(es, store, watch="group-islamic-state")] == ["a-is"]
    assert list_alerts(es, store, since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert list_alerts(es, store, state="failed") == []


def test_a_watch_the_cluster_rejects_is_skipped_and_the_others_still_match(
    es: Elasticsearch, store: IndexNames
) -> None:
    from search.alerting.matching import match_articles
    from search.alerting.watches import Watch

    sync_group_watches(es, store, GROUPS, channels=["hook"])
    broken = Watch(
        id="query-broken", name="broken", kind="query", channels=("hook",), created_at="2000-01-01T00:00:00+00:00",
        query={"match": {"text": {"query": "attack", "fuzziness": "not-a-fuzziness"}}},
    )  # fmt: skip
    es.index(index=store.watches, id=broken.id, document=broken.to_doc(), refresh=True)
    write(es, store, *corpus())
    es.indices.refresh(index=store.articles)
    watches = list_watches(es, store, enabled_only=True)
    assert len(watches) == 3
    matches = match_articles(es, store, ["a-is", "a-aq", "a-none"], watches)
    assert sorted((m.watch_id, m.article_id) for m in matches) == [
        ("group-al-qaeda", "a-aq"), ("group-islamic-state", "a-is"),
    ]  # fmt: skip
