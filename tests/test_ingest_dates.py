"""Dates from outside are bounded where they enter: page and feed dates, Last-Modified, Retry-After, the RSS ttl.

Real loopback servers send the hostile values; the page test runs the real extractor on real HTML."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.errors import TransientFetchError
from ingest.extract import PageInput, extract_article
from ingest.feedlist import FeedSpec
from ingest.feeds import FeedPoll, poll_feed
from ingest.fetch import Fetcher
from ingest.state import Backoff, FeedState
from netsafe import parse_retry_after
from tests.support.flow import PARAGRAPH
from tests.support.ingest_servers import FaultServer, fast_policy, respond

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml"


def _page(published: str) -> str:
    return (
        f'<html><head><title>Harbour</title><meta property="article:published_time" content="{published}">'
        f"</head><body><article><h1>Harbour</h1><p>{PARAGRAPH * 4}</p></article></body></html>"
    )


def test_a_page_date_past_the_fetch_falls_back_to_the_feed_and_is_kept_aside() -> None:
    # trafilatura (htmldate) drops dates after today by itself; a page fetched earlier than its claimed date
    # (a page read again from disk, a clock set back) is where the bound of the fetch time decides
    fetched = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    feed_date = datetime(2025, 1, 9, 8, 0, tzinfo=UTC)
    article = extract_article(PageInput(
        html=_page("2025-06-01T10:00:00+00:00"), url="http://127.0.0.1/a.html", source="t", fetched_at=fetched,
        feed_published_at=feed_date,
    ))  # fmt: skip
    assert (article.published_at, article.date_source) == (feed_date, "feed")
    assert article.date_set_aside == ("page 2025-06-01T10:00:00+00:00",)
    # a day ahead of the fetch is still a date (time zones, clocks a little fast)
    ahead = extract_article(PageInput(
        html=_page("2025-01-11T06:00:00+00:00"), url="http://127.0.0.1/a.html", source="t", fetched_at=fetched,
    ))  # fmt: skip
    assert (ahead.published_at, ahead.date_source, ahead.date_set_aside) == (
        datetime(2025, 1, 11, 6, 0, tzinfo=UTC),
        "page",
        (),
    )


def _atom(published: str, updated: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        "<id>urn:t</id><updated>2026-12-07T00:00:00Z</updated><entry><title>Harbour</title>"
        f'<link href="http://127.0.0.1/a.html"/><id>urn:a</id><published>{published}</published>'
        f"<updated>{updated}</updated></entry></feed>"
    ).encode()


def _poll(server: FaultServer) -> FeedPoll:
    spec = FeedSpec(id="f", url=server.url("/feed.xml"))
    with Fetcher(fast_policy()) as fetcher:
        return poll_feed(spec, FeedState(feed_id="f"), fetcher=fetcher, now=NOW, max_entries=10, backoff=Backoff())


def test_a_feed_entry_falls_back_from_an_absurd_published_to_its_updated() -> None:
    with FaultServer() as server:
        atom = _atom("9999-12-31T23:00:00Z", "2026-12-06T08:00:00Z")
        server.routes["/feed.xml"] = respond(200, atom, "application/atom+xml")
        poll = _poll(server)
    (item,) = poll.items
    assert item.published_at == datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    assert item.date_set_aside == ("feed 9999-12-31T23:00:00+00:00",)


def test_last_modified_is_kept_only_when_it_is_a_plausible_http_date() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><ttl>\xc2\xb2</ttl></channel></rss>'
    sane = "Sun, 06 Dec 2026 08:00:00 GMT"
    with FaultServer() as server:
        server.routes["/feed.xml"] = respond(200, body, RSS, headers={"Last-Modified": "Fri, 31 Dec 9999 23:59:59 GMT"})
        future = _poll(server)
        server.routes["/feed.xml"] = respond(200, body + b" ", RSS, headers={"Last-Modified": sane})
        kept = _poll(server)
    assert (future.status, future.proposed_state.last_modified) == ("ok", None)
    assert kept.proposed_state.last_modified == sane


def test_a_retry_after_of_unicode_digits_or_a_far_date_stays_a_bounded_number() -> None:
    assert parse_retry_after("²") is None
    assert parse_retry_after("9" * 400) == parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT") == 30 * 24 * 3600.0
    with FaultServer() as server:
        server.routes["/feed.xml"] = respond(503, b"busy", "text/plain", headers={"Retry-After": "²"})
        with Fetcher(fast_policy(retries=0)) as fetcher:
            try:
                fetcher.fetch(server.url("/feed.xml"), kind="feed")
            except TransientFetchError as exc:
                assert (exc.status, exc.retry_after_s) == (503, None)
            else:
                raise AssertionError("a 503 must raise")
