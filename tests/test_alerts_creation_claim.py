"""Deliveries claimed in the alert's own create (issue 22 item 4): the runner that created an alert sends it
from what it holds, without reading the outbox or writing a claim; nobody else sends it while the claim holds;
once it lapses (the runner died) any runner sends it; a scheduled channel stays pending. Real node, real
receiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from notify import AddressRules, WebhookChannel, deliver, deliveries_from_docs
from search.alerting.alerts import CreationClaim, create_alerts, list_alerts, pending_deliveries, record_deliveries
from search.alerting.outbox import claim_deliveries
from search.names import IndexNames
from tests.support.alerting import (
    Receiver,
    index_prefix,  # noqa: F401  (overrides conftest's: see its docstring)
    setup_store,
)
from tests.test_alerts_outbox import match

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CLAIM = CreationClaim(owner="runner-a", ttl_s=300.0, channels=frozenset({"hook"}))


@pytest.fixture()
def store(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    return setup_store(es, index_names)


def test_created_claimed_sent_from_memory_once(es: Elasticsearch, store: IndexNames, receiver: Receiver) -> None:
    report = create_alerts(es, store, [match("a1", ["hook", "digest"]), match("a2", ["hook"])], now=T0, claim=CLAIM)
    assert sorted(report.created) == sorted(d["id"] for d in report.claimed)
    states = {(d["channel"], d["state"]) for a in list_alerts(es, store) for d in a["deliveries"]}
    assert states == {("hook", "sending"), ("digest", "pending")}
    # another runner reading the outbox meanwhile sees only the unclaimed digest entry, and claims nothing to send
    other = pending_deliveries(es, store, now=T0 + timedelta(seconds=1), channels=["hook"], exclude=["digest"])
    assert other == []
    claims = claim_deliveries(es, store, report.claimed, owner="runner-b", ttl_s=300, now=T0 + timedelta(seconds=1),
                              channels=["hook"], exclude=["digest"])  # fmt: skip
    assert claims.pairs == 0
    # the creator sends from what it holds
    hook = WebhookChannel(name="hook", url=receiver.url, rules=AddressRules(allow_loopback=True))
    try:
        items = deliveries_from_docs(report.claimed, claimed_by=CLAIM.owner)
        assert len(items) == 2
        outcomes = deliver(items, {"hook": hook}, backoff_s=0.01)
        assert record_deliveries(es, store, outcomes, owner=CLAIM.owner) == 2
    finally:
        hook.close()
    assert len(receiver.requests) == 2
    states = {(d["channel"], d["state"]) for a in list_alerts(es, store) for d in a["deliveries"]}
    assert states == {("hook", "delivered"), ("digest", "pending")}
    # a re-match of the same articles creates nothing and claims nothing
    again = create_alerts(es, store, [match("a1", ["hook", "digest"])], now=T0, claim=CLAIM)
    assert again.created == [] and again.claimed == [] and again.existing == 1


def test_a_lapsed_creation_claim_is_due_for_any_runner(es: Elasticsearch, store: IndexNames) -> None:
    report = create_alerts(es, store, [match("b1", ["hook"])], now=T0, claim=CLAIM)
    assert len(report.claimed) == 1  # the creator dies here, before sending
    later = T0 + timedelta(seconds=CLAIM.ttl_s + 1)
    docs = pending_deliveries(es, store, now=later, channels=["hook"])
    assert [d["id"] for d in docs] == report.created
    claims = claim_deliveries(es, store, docs, owner="runner-b", ttl_s=300, now=later, channels=["hook"])
    assert claims.pairs == 1
