"""The one backoff formula every retry of the project uses (netsafe.retry)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from netsafe import Backoff, parse_retry_after


def test_the_wait_doubles_per_failure_up_to_the_cap() -> None:
    policy = Backoff(first_s=0.5, max_s=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_a_longer_retry_after_wins_and_is_capped() -> None:
    assert Backoff(1.0, 60.0).delay(1, retry_after_s=20) == 20
    assert Backoff(1.0, 60.0).delay(1, retry_after_s=600) == 60
    assert Backoff(1.0, 60.0).delay(3, retry_after_s=0) == 4  # a shorter one does not shorten the backoff


def test_retry_after_may_have_a_cap_of_its_own() -> None:
    # a feed: failures back off up to 6 h, but a server's Retry-After is honoured up to a day
    feed = Backoff(900.0, 6 * 3600.0, retry_after_max_s=24 * 3600.0)
    assert feed.delay(1, retry_after_s=12 * 3600) == 12 * 3600
    assert feed.delay(10) == 6 * 3600


def test_huge_failure_counts_do_not_overflow() -> None:
    assert Backoff(0.5, 30.0).delay(10_000) == 30.0


def test_negative_delays_are_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(-1.0, 10.0)


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
