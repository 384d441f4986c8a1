"""Retries of one URL share one budget (issue 13): a fetch ends within ``total_deadline_s`` however many
retries the policy allows. Counted on a real loopback server: how many attempts reached it."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from ingest.errors import TransientFetchError
from ingest.fetch import Fetcher
from tests.support.ingest_servers import FaultServer, fast_policy, send


def slow_503(h: BaseHTTPRequestHandler) -> None:
    time.sleep(0.6)  # each attempt spends more than half of the budget
    send(h, 503, b"busy", "text/plain")


def test_retries_of_one_url_share_one_budget() -> None:
    with FaultServer({"/busy": slow_503}) as server:
        policy = fast_policy(total_deadline_s=1.0, read_timeout_s=2.0, retries=5, backoff_s=0.05)
        with Fetcher(policy) as fetcher, pytest.raises(TransientFetchError) as caught:
            fetcher.fetch(server.url("/busy"))
    # five retries allowed, but the budget of 1 s holds two attempts of 0.6 s at most
    assert server.hits("/busy") == 2
    # the second attempt is cut by the deadline, or the budget is spent before a third could start
    reason = caught.value.reason
    assert "total deadline of 1 s passed" in reason or "fetch budget of 1 s spent after 2 attempt(s)" in reason
