"""Feed state round trips, backoff arithmetic, the memory store, and feed list / feed parsing details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.errors import FeedListError
from ingest.feedlist import load_feed_list
from ingest.feeds import parse_feed_bytes
from ingest.state import MAX_SEEN_IDS, Backoff, FeedState, MemoryFeedStateStore, failed, load_states, merge_seen

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_state_round_trips_through_plain_dicts() -> None:
    state = FeedState(
        feed_id="f",
        etag='"x"',
        last_modified="Fri, 23 Feb 2018 10:00:00 GMT",
        body_hash="h",
        seen_ids=("a", "b"),
        last_success_at=NOW,
        next_poll_at=NOW + timedelta(minutes=15),
        consecutive_failures=2,
        last_error="HTTP 500",
    )
    data = state.to_dict()
    assert data["next_poll_at"] == "2026-03-01T12:15:00+00:00" and data["seen_ids"] == ["a", "b"]
    assert FeedState.from_dict(data) == state
    assert FeedState.from_dict({**data, "added_in_a_later_version": 1}) == state


def test_backoff_doubles_per_failure_and_is_capped() -> None:
    backoff = Backoff(interval_s=600, max_backoff_s=3600)
    waits = [(backoff.after_failure(NOW, n) - NOW).total_seconds() for n in range(1, 6)]
    assert waits == [600, 1200, 2400, 3600, 3600]


def test_retry_after_and_server_hints_stretch_the_wait() -> None:
    backoff = Backoff(interval_s=600, max_backoff_s=3600, max_interval_s=7200)
    assert backoff.after_failure(NOW, 1, retry_after_s=5000) == NOW + timedelta(seconds=5000)
    assert backoff.after_success(NOW, server_hint_s=1800) == NOW + timedelta(seconds=1800)
    assert backoff.after_success(NOW, server_hint_s=60) == NOW + timedelta(seconds=600)
    assert backoff.after_success(NOW, server_hint_s=10**9) == NOW + timedelta(seconds=7200)  # never dropped


def test_failure_keeps_validators_and_counts() -> None:
    state = FeedState(feed_id="f", etag='"x"', consecutive_failures=1)
    after = failed(state, now=NOW, error="HTTP 503", backoff=Backoff(interval_s=100))
    assert (after.etag, after.consecutive_failures, after.last_error) == ('"x"', 2, "HTTP 503")
    assert after.next_poll_at == NOW + timedelta(seconds=200) and not after.is_due(NOW)


def test_seen_ids_are_bounded_newest_first() -> None:
    merged = merge_seen(tuple(f"old{i}" for i in range(MAX_SEEN_IDS)), ["new1", "old0"])
    assert merged[:2] == ("new1", "old0") and len(merged) == MAX_SEEN_IDS


def test_memory_store_and_fresh_states() -> None:
    store = MemoryFeedStateStore()
    store.save({"a": FeedState(feed_id="a", etag="e").to_dict()})
    states = load_states(store, ["a", "b"])
    assert states["a"].etag == "e" and states["b"] == FeedState(feed_id="b") and states["b"].is_due(NOW)


def test_feed_list_errors_say_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - id: a\n    url: '{base}/rss.xml'\n")
    with pytest.raises(FeedListError, match="give a base_url"):
        load_feed_list(path)
    path.write_text("feeds:\n  - id: a\n    url: https://x.org/a\n  - id: a\n    url: https://x.org/b\n")
    with pytest.raises(FeedListError, match="repeats a feed id"):
        load_feed_list(path)
    path.write_text("feeds:\n  - id: a\n    url: ftp://x.org/a\n")
    with pytest.raises(FeedListError, match="unsupported URL scheme"):
        load_feed_list(path)
    with pytest.raises(FeedListError, match="cannot read"):
        load_feed_list(tmp_path / "missing.yaml")


RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://x.org/"><title>R1</title><link>http://x.org/</link><description>d</description></channel>
  <item rdf:about="http://x.org/a"><title>A</title><link>http://x.org/a</link><dc:date>2018-02-23T11:30:00+02:00</dc:date></item>
</rdf:RDF>"""
RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><link>http://x.org/</link>
<description>d</description><item><title>A</title><link>http://x.org/a</link></item></channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<id>urn:x</id><updated>2018-02-23T09:30:00Z</updated><entry><title>E</title><id>urn:e</id>
<link href="e.html"/><updated>2018-02-23T04:30:00-05:00</updated></entry></feed>"""


@pytest.mark.parametrize(
    ("body", "link", "date"),
    [
        (RSS1, "http://x.org/a", datetime(2018, 2, 23, 9, 30, tzinfo=UTC)),
        (RSS091, "http://x.org/a", None),
        (ATOM, "http://x.org/feeds/e.html", datetime(2018, 2, 23, 9, 30, tzinfo=UTC)),
    ],
)
def test_feed_formats_links_resolved_and_dates_in_utc(body: bytes, link: str, date: datetime | None) -> None:
    from ingest.feeds import _item

    parsed = parse_feed_bytes(body, url="http://x.org/feeds/feed.xml")
    item = _item("f", parsed.entries[0], datetime(2026, 1, 1, tzinfo=UTC))
    assert item.link == link and item.published_at == date and parsed.problem is None


def test_rss_ttl_is_read() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><ttl>60</ttl><item><link>http://x/a</link></item></channel></rss>'
    )
    assert parse_feed_bytes(body, url="http://x/f").ttl_min == 60


def test_entity_declarations_are_refused_even_after_a_long_comment() -> None:
    from ingest.errors import FeedParseError

    body = (
        b'<?xml version="1.0"?><!--' + b"x" * 100_000 + b'--><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        b'<rss version="2.0"><channel><title>&a;</title></channel></rss>'
    )
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse_feed_bytes(body, url="http://x/f")
