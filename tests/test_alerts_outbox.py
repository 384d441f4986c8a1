"""The outbox never starves (issue 11, defect 1): alerts that cannot be delivered, whatever the reason, must
not fill every batch the delivery step reads, so newer alerts still go out. Real node, real receivers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from notify import AddressRules, WebhookChannel, deliver, deliveries_from_docs
from search.alerting.alerts import create_alerts, list_alerts, pending_deliveries, record_deliveries
from search.alerting.matching import Match
from search.names import IndexNames
from tests.support.alerting import (
    Receiver,
    index_prefix,  # noqa: F401  (overrides conftest's: see its docstring)
    setup_store,
)
from wirewatch.cli import cli as root_cli
from wirewatch.pipeline import deliver_alerts
from wirewatch.runtime import Runtime
from wirewatch.settings import Settings
from wirewatch.summary import PassSummary

LOOPBACK = AddressRules(allow_loopback=True)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture()
def store(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    return setup_store(es, index_names)


def match(article_id: str, channels: Sequence[str]) -> Match:
    return Match(
        watch_id=f"w-{channels[0]}", watch_name=f"watch on {channels[0]}", watch_kind="query",
        channels=tuple(channels), group_id=None, group_name=None, article_id=article_id, title=f"story {article_id}",
        url=f"https://news.example.org/{article_id}", source="demo", published_at=None, indexed_at=None,
        content_hash=None, surface_forms=(), passage="",
    )  # fmt: skip


def create_test_alerts(
    es: Elasticsearch, names: IndexNames, channel: str, articles: Sequence[str], at: datetime
) -> None:
    report = create_alerts(es, names, [match(a, [channel]) for a in articles], now=at)
    assert len(report.created) == len(articles), report.as_dict()


def by_channel(es: Elasticsearch, names: IndexNames) -> dict[str, list[str]]:
    """channel -> the states of its deliveries, oldest alert first."""
    out: dict[str, list[str]] = {}
    for alert in reversed(list_alerts(es, names)):
        for d in alert["deliveries"]:
            out.setdefault(d["channel"], []).append(d["state"])
    return out


def test_a_removed_channel_is_set_aside_and_newer_alerts_still_go_out(
    es: Elasticsearch, es_url: str, index_prefix: str, store: IndexNames, receiver: Receiver  # noqa: F811
) -> None:
    # three older alerts for a channel since removed from the channels file, one newer for a live one
    create_test_alerts(es, store, "gone", ["a1", "a2", "a3"], T0)
    create_test_alerts(es, store, "hook", ["a4"], T0 + timedelta(minutes=1))
    rt = Runtime.around(Settings(delivery_backoff_s=0.001), es, store)
    channels: dict[str, Any] = {"hook": WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK)}
    summaries = []
    for _ in range(3):  # the outbox is read 3 alerts at a time: the three old ones fill a whole batch
        summary = PassSummary()
        deliver_alerts(rt, summary, channels, limit=3)
        summaries.append(dict(summary.deliveries))
    assert summaries == [{"unconfigured": 3}, {"delivered": 1}, {}]
    assert len(receiver.requests) == 1
    assert by_channel(es, store) == {"gone": ["unconfigured"] * 3, "hook": ["delivered"]}
    [aside] = {d["last_error"] for a in list_alerts(es, store, state="unconfigured") for d in a["deliveries"]}
    assert aside == "channel 'gone' is not configured"
    assert pending_deliveries(es, store) == []  # not due: set aside until the channel exists again

    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_prefix, "WIREWATCH_CONFIG": ""}
    env["COLUMNS"] = "250"  # the reason fits on one line of the table
    shown = CliRunner().invoke(root_cli, ["alerts", "list", "--unconfigured"], env=env)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.count("gone: unconfigured (channel 'gone' is not configured") == 3

    # the channel is configured again: the alerts set aside are delivered after all, once each
    channels["gone"] = WebhookChannel(name="gone", url=receiver.url, rules=LOOPBACK)
    summary = PassSummary()
    deliver_alerts(rt, summary, channels, limit=3)
    assert dict(summary.deliveries) == {"delivered": 3}
    assert by_channel(es, store) == {"gone": ["delivered"] * 3, "hook": ["delivered"]}
    assert len(receiver.requests) == 4


def _pass(es: Elasticsearch, names: IndexNames, channels: dict[str, Any], now: datetime) -> list[Any]:
    """One delivery step as the pipeline runs it, at a chosen time, reading 3 alerts from the outbox."""
    docs = pending_deliveries(es, names, now=now, limit=3, channels=list(channels))
    items = deliveries_from_docs(docs, now=now, channels=list(channels))
    outcomes = deliver(items, channels, max_attempts=2, backoff_s=0.01, clock=lambda: now)
    record_deliveries(es, names, outcomes)
    return outcomes


def test_alerts_for_a_dead_receiver_do_not_starve_newer_alerts(es: Elasticsearch, store: IndexNames) -> None:
    dead, live = Receiver(), Receiver()
    dead.stop()  # connection refused for the whole test: a transient failure every time
    try:
        create_test_alerts(es, store, "dead", ["a1", "a2", "a3"], T0)
        channels: dict[str, Any] = {
            "dead": WebhookChannel(name="dead", url=dead.url, rules=LOOPBACK, timeout_s=2),
            "hook": WebhookChannel(name="hook", url=live.url, rules=LOOPBACK),
        }
        first = _pass(es, store, channels, T0)
        assert [o.state for o in first] == ["pending"] * 3
        create_test_alerts(es, store, "hook", ["a4"], T0 + timedelta(minutes=1))
        # hours later the dead receiver's alerts are all due again, and still older than the new alert:
        # the new alert, never tried, is read before those that were tried and failed
        later = _pass(es, store, channels, T0 + timedelta(hours=3))
    finally:
        live.stop()
    assert ("hook", "delivered") in [(o.channel, o.state) for o in later]
    assert len(live.requests) == 1
    assert by_channel(es, store) == {"dead": ["pending"] * 3, "hook": ["delivered"]}
