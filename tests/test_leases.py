"""Never two at once (issue 13): feed leases and delivery claims on a real Elasticsearch node.

A lease is taken with op_type=create and taken over, once expired, with if_seq_no/if_primary_term; a delivery
is claimed by a guarded write of its entry to ``sending``. Races are real: threads with their own owners hit
the same documents at the same moment. Time is passed in (``now=``), never slept through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from notify.deliver import DeliveryOutcome
from notify.model import deliveries_from_docs
from search.alerting.alerts import create_alerts, list_alerts
from search.alerting.matching import Match
from search.alerting.outbox import claim_deliveries, pending_deliveries, record_deliveries
from search.leases import Leases, list_leases, setup_lease_index
from search.names import IndexNames
from tests.support.alerting import index_prefix, setup_store  # noqa: F401  (overrides conftest's)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TTL = 60.0


@pytest.fixture()
def names(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    setup_store(es, index_names)
    setup_lease_index(es, index_names)
    return index_names


def leases(es: Elasticsearch, names: IndexNames, owner: str) -> Leases:
    return Leases(es, names, kind="feed", owner=owner, ttl_s=TTL)


def race(workers: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run every worker at the same moment (a barrier), each in its own thread; their results in order."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = workers[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


FEEDS = [f"feed-{i:02d}" for i in range(20)]


def test_a_live_lease_keeps_other_runners_out(es: Elasticsearch, names: IndexNames) -> None:
    a, b = leases(es, names, "runner-a"), leases(es, names, "runner-b")
    assert a.acquire(FEEDS[:10], now=T0).granted == FEEDS[:10]
    report = b.acquire(FEEDS, now=T0 + timedelta(seconds=TTL - 1))
    assert report.granted == FEEDS[10:]
    assert report.elsewhere == dict.fromkeys(FEEDS[:10], "runner-a")
    assert a.held == FEEDS[:10] and b.held == FEEDS[10:]


def test_runners_racing_for_the_same_feeds_each_get_a_disjoint_share(es: Elasticsearch, names: IndexNames) -> None:
    runners = [leases(es, names, f"runner-{i}") for i in range(4)]
    reports = race([lambda r=r: r.acquire(FEEDS, now=T0) for r in runners])
    granted = [f for report in reports for f in report.granted]
    assert sorted(granted) == FEEDS  # every feed exactly once
    for report in reports:
        assert set(report.granted) | set(report.elsewhere) == set(FEEDS)


def test_an_expired_lease_is_taken_over_by_exactly_one_runner(es: Elasticsearch, names: IndexNames) -> None:
    crashed = leases(es, names, "crashed")
    crashed.acquire(FEEDS, now=T0)  # and never renewed nor released: the runner was killed
    later = T0 + timedelta(seconds=TTL + 1)
    runners = [leases(es, names, f"runner-{i}") for i in range(4)]
    reports = race([lambda r=r: r.acquire(FEEDS, now=later) for r in runners])
    taken = [f for report in reports for f in report.taken_over]
    assert sorted(taken) == FEEDS
    owners = {doc["subject"]: doc["owner"] for doc in list_leases(es, names, kind="feed")}
    for runner, report in zip(runners, reports, strict=True):
        assert all(owners[f] == runner.owner for f in report.granted)
    # the crashed runner, were it only paused, finds out at its next renewal and lets go
    assert crashed.renew(now=later) == FEEDS
    assert crashed.held == [] and crashed.lost == FEEDS


def test_renewal_keeps_a_lease_alive_past_its_first_expiry(es: Elasticsearch, names: IndexNames) -> None:
    a, b = leases(es, names, "runner-a"), leases(es, names, "runner-b")
    a.acquire(FEEDS[:3], now=T0)
    assert a.renew(now=T0 + timedelta(seconds=TTL / 2)) == []
    report = b.acquire(FEEDS[:3], now=T0 + timedelta(seconds=TTL + 1))  # past the first expiry, not the renewed
    assert report.granted == [] and set(report.elsewhere) == set(FEEDS[:3])


def test_confirm_tells_a_lease_still_held_from_one_taken_over(es: Elasticsearch, names: IndexNames) -> None:
    stalled, taker = leases(es, names, "stalled"), leases(es, names, "taker")
    stalled.acquire(FEEDS[:2], now=T0)
    later = T0 + timedelta(seconds=TTL + 1)
    assert taker.acquire([FEEDS[0]], now=later).taken_over == [FEEDS[0]]
    assert stalled.confirm(FEEDS[:2], now=later) == [FEEDS[0]]  # the other one is still its own, renewed
    assert stalled.held == [FEEDS[1]] and stalled.lost == [FEEDS[0]]
    taker.release()
    stalled.acquire([FEEDS[0]], now=later)
    assert stalled.lost == [] and stalled.confirm(FEEDS[:2], now=later) == []  # held again: no longer lost


def test_renewals_at_the_same_moment_from_two_threads_lose_nothing(es: Elasticsearch, names: IndexNames) -> None:
    # the renewing thread and the committer's ``confirm`` of one runner renew with the same sequence numbers
    runner = leases(es, names, "runner-a")
    runner.acquire(FEEDS[:5], now=T0)
    for round_ in range(5):
        at = T0 + timedelta(seconds=round_)
        lost = race([lambda at=at: runner.renew(now=at), lambda at=at: runner.confirm(FEEDS[:5], now=at)])
        assert lost == [[], []], round_
    assert runner.held == FEEDS[:5] and runner.lost == []


def test_a_released_lease_is_free_at_once_and_release_never_deletes_another_runners_lease(
    es: Elasticsearch, names: IndexNames
) -> None:
    a, b, c = leases(es, names, "runner-a"), leases(es, names, "runner-b"), leases(es, names, "runner-c")
    a.acquire(FEEDS[:2], now=T0)
    a.release([FEEDS[0]])
    assert b.acquire(FEEDS[:2], now=T0).granted == [FEEDS[0]]
    # runner-a stalls past expiry, runner-c takes FEEDS[1] over, then runner-a wakes up and releases it
    assert c.acquire([FEEDS[1]], now=T0 + timedelta(seconds=TTL + 1)).taken_over == [FEEDS[1]]
    a.release()
    owners = {doc["subject"]: doc["owner"] for doc in list_leases(es, names)}
    assert owners == {FEEDS[0]: "runner-b", FEEDS[1]: "runner-c"}


def test_renewing_releases_every_lease_when_the_block_ends(es: Elasticsearch, names: IndexNames) -> None:
    with leases(es, names, "runner-a").renewing() as held:
        held.acquire(FEEDS[:5])
        assert len(list_leases(es, names)) == 5
    assert list_leases(es, names) == []


# --- delivery claims --------------------------------------------------------------------------------------
def _match(article_id: str) -> Match:
    return Match(
        watch_id="w", watch_name="watch", watch_kind="query", channels=("mail", "hook"), group_id=None,
        group_name=None, article_id=article_id, title=f"story {article_id}", url=f"https://news.example.org/{article_id}",
        source="demo", published_at=None, indexed_at=None, content_hash=None, surface_forms=(), passage="",
    )  # fmt: skip


def _raise(es: Elasticsearch, names: IndexNames, count: int) -> list[dict[str, Any]]:
    report = create_alerts(es, names, [_match(f"a{i}") for i in range(count)], now=T0)
    assert len(report.created) == count
    es.indices.refresh(index=names.alerts)
    return pending_deliveries(es, names, now=T0, limit=100)


def test_two_runners_claiming_the_same_pending_alerts_split_them(es: Elasticsearch, names: IndexNames) -> None:
    docs = _raise(es, names, 12)
    reports = race([
        lambda owner=owner: claim_deliveries(es, names, docs, owner=owner, ttl_s=TTL, now=T0)
        for owner in ("runner-a", "runner-b", "runner-c")
    ])  # fmt: skip
    sent = [
        (d.alert.id, d.channel)
        for owner, report in zip(("runner-a", "runner-b", "runner-c"), reports, strict=True)
        for d in deliveries_from_docs(report.claimed, claimed_by=owner)
    ]
    assert len(sent) == len(set(sent)) == 24  # 12 alerts x 2 channels, each claimed once
    assert sum(r.pairs for r in reports) == 24
    assert all(r.pairs + r.elsewhere == 24 for r in reports)


def test_a_claim_hides_the_delivery_until_it_lapses_then_anyone_may_claim_it(
    es: Elasticsearch, names: IndexNames
) -> None:
    docs = _raise(es, names, 3)
    first = claim_deliveries(es, names, docs, owner="crashed", ttl_s=TTL, now=T0)
    assert first.pairs == 6
    es.indices.refresh(index=names.alerts)
    assert pending_deliveries(es, names, now=T0 + timedelta(seconds=TTL - 1)) == []
    lapsed = T0 + timedelta(seconds=TTL + 1)
    again = pending_deliveries(es, names, now=lapsed)
    assert len(again) == 3
    second = claim_deliveries(es, names, again, owner="runner-b", ttl_s=TTL, now=lapsed)
    assert second.pairs == 6
    # the first runner was only slow: its failure does not take the delivery back from runner-b...
    alert_id = str(docs[0]["id"])
    failed = DeliveryOutcome(alert_id=alert_id, channel="mail", state="pending", attempts=1, error="timeout",
                             next_attempt_at=lapsed)  # fmt: skip
    record_deliveries(es, names, [failed], owner="crashed")
    entry = _entry(es, names, alert_id, "mail")
    assert entry["state"] == "sending" and entry["claimed_by"] == "runner-b"
    # ...and runner-b's delivery settles it, claim fields gone
    done = DeliveryOutcome(alert_id=alert_id, channel="mail", state="delivered", attempts=1, delivered_at=lapsed)
    record_deliveries(es, names, [done], owner="runner-b")
    entry = _entry(es, names, alert_id, "mail")
    assert entry["state"] == "delivered" and "claimed_by" not in entry and "claim_expires_at" not in entry


def _entry(es: Elasticsearch, names: IndexNames, alert_id: str, channel: str) -> dict[str, Any]:
    alert = next(a for a in list_alerts(es, names) if a["id"] == alert_id)
    return next(d for d in alert["deliveries"] if d["channel"] == channel)
