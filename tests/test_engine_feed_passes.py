"""Feeds over several passes of the engine against a real loopback server: entries past the per-pass cap are
taken on later passes and the feed then settles (issue 11 defect 2), a huge feed is read only up to a cap and
not parsed again while unchanged (defect 12), and a feed answering 410, or 404 several times in a row, is gone
(13)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.feedcap import entry_layout
from ingest.feedlist import FeedSpec
from ingest.feeds import parse_feed_bytes
from ingest.fetch import Fetcher
from ingest.pool import ExtractPool
from ingest.state import Backoff, FeedState, failed
from tests.support.engine_passes import engine_passes
from tests.support.ingest_servers import FaultServer, conditional, fast_policy, respond

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml"
SHORT_PAGE = "<html><body><article><h1>Brief</h1><p>One short line.</p></article></body></html>"


def numbered_rss(base: str, count: int, *, oldest_first: bool, dated: bool) -> str:
    """Entry ``i`` links ``/p/{i}.html``; a higher ``i`` is newer (dated an hour later when dated)."""
    order = range(count) if oldest_first else reversed(range(count))
    items = []
    for i in order:
        date = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        pub = f"<pubDate>{date}</pubDate>" if dated else ""
        items.append(
            f"<item><title>Entry {i}</title><link>{base}/p/{i}.html</link><guid>{base}/p/{i}.html</guid>{pub}</item>"
        )
    channel = "<title>Numbered</title><link>http://x/</link><description>d</description>"
    head = '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    return f"{head}{channel}\n{''.join(items)}\n</channel></rss>\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractPool]:
    with ExtractPool(workers=1, deadline_s=10) as opened:
        yield opened


def page_hits(server: FaultServer) -> dict[int, int]:
    counts: dict[int, int] = {}
    for path, _ in server.requests:
        if path.startswith("/p/"):
            number = int(path[3:].split(".")[0])
            counts[number] = counts.get(number, 0) + 1
    return counts


# --- defect 2: entries past feed_max_entries ---------------------------------------------------------------
@pytest.mark.parametrize(("oldest_first", "dated"), [(True, True), (False, False)], ids=["oldest-first", "undated"])
def test_entries_past_the_cap_come_on_the_next_pass_and_the_feed_settles(
    es_url: str, tmp_path: Path, pool: ExtractPool, oldest_first: bool, dated: bool
) -> None:
    with FaultServer() as server:
        server.routes["/feed.xml"] = conditional(
            numbered_rss(server.base_url, 150, oldest_first=oldest_first, dated=dated), RSS, '"v1"'
        )
        server.routes.update({f"/p/{i}.html": respond(200, SHORT_PAGE) for i in range(150)})
        spec = FeedSpec(id="numbered", url=server.url("/feed.xml"))
        with Fetcher(fast_policy()) as fetcher, engine_passes(
            es_url, tmp_path, [spec], fetcher=fetcher, pool=pool, max_entries=100, min_chars=250
        ) as passes:  # fmt: skip
            first = passes.run(NOW, only_due=False)
            # The newest 100 first, whatever order the feed lists them in; the 50 others wait, named.
            assert set(page_hits(server)) == set(range(50, 150))
            assert first.skipped_rules["max_entries_per_pass (100)"] == 50
            assert passes.state("numbered").body_hash is None and len(passes.state("numbered").seen_ids) == 100

            second = passes.run(NOW + timedelta(hours=1), only_due=False)
            assert page_hits(server) == {i: 1 for i in range(150)}  # every entry fetched, once, by pass 2
            assert dict(second.entries) == {"not_modified": 100, "skipped": 50} and second.offered == 150
            settled = passes.state("numbered")
            assert settled.etag == '"v1"' and settled.body_hash is not None and len(settled.seen_ids) == 150

            third = passes.run(NOW + timedelta(hours=2), only_due=False)
            assert dict(third.feeds) == {"not_modified": 1} and third.offered == 0
            assert server.requests[-1][0] == "/feed.xml"
            assert server.requests[-1][1].get("if-none-match") == '"v1"'
            assert sum(page_hits(server).values()) == 150


# --- defect 12: huge feeds --------------------------------------------------------------------------------
def test_a_huge_feed_is_read_up_to_the_cap_and_not_parsed_again_while_unchanged(
    es_url: str, tmp_path: Path, pool: ExtractPool
) -> None:
    with FaultServer() as server:
        # No ETag: only the body hash can tell the second pass that nothing changed. The pages are gone (404):
        # each entry settles for good, so the feed's state moves on.
        body = numbered_rss(server.base_url, 20_000, oldest_first=True, dated=True).encode()
        server.routes["/huge.xml"] = respond(200, body, RSS)
        spec = FeedSpec(id="huge", url=server.url("/huge.xml"))
        with Fetcher(fast_policy(max_bytes=len(body) + 1)) as fetcher, engine_passes(
            es_url, tmp_path, [spec], fetcher=fetcher, pool=pool, max_entries=500, max_parse_entries=500
        ) as passes:  # fmt: skip
            first = passes.run(NOW, only_due=False)
            assert dict(first.feeds) == {"ok": 1} and first.offered == 500
            assert set(page_hits(server)) == set(range(19_500, 20_000))  # the newest 500, though listed last
            assert passes.state("huge").body_hash is not None

            second = passes.run(NOW + timedelta(hours=1), only_due=False)
            assert dict(second.feeds) == {"not_modified": 1} and second.offered == 0
            assert server.hits("/huge.xml") == 2


@pytest.mark.parametrize(
    ("document", "kept_titles"),
    [
        (  # Atom, newest first, undated: the first entries in document order
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>'
            + "".join(
                f'<entry><id>urn:{i}</id><title>E{i}</title><link href="http://x/{i}"/></entry>' for i in range(5)
            )
            + "</feed>",
            ["E0", "E1"],
        ),
        (  # RSS 1.0 (its <items> table of contents is not an entry), dated oldest first: the last entries
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<channel rdf:about="http://x/"><title>R</title><link>http://x/</link><description>d</description>'
            '<items><rdf:Seq><rdf:li resource="http://x/0"/></rdf:Seq></items></channel>'
            + "".join(
                f'<item rdf:about="http://x/{i}"><title>E{i}</title><link>http://x/{i}</link>'
                f"<dc:date>2026-01-0{i + 1}T00:00:00Z</dc:date></item>"
                for i in range(5)
            )
            + "</rdf:RDF>",
            ["E3", "E4"],
        ),
    ],
    ids=["atom", "rss1"],
)
def test_the_cut_document_stays_well_formed(document: str, kept_titles: list[str]) -> None:
    layout = entry_layout(document.encode())
    assert layout is not None and layout.count == 5
    parsed = parse_feed_bytes(document.encode(), url="http://x/feed", max_entries=2)
    assert sorted(e.title for e in parsed.entries) == kept_titles
    assert parsed.problem == "the feed lists 5 entries: read only the newest 2 (feed_max_parse_entries)"


def test_unpaired_entry_tags_are_not_cut() -> None:
    body = b"<rss><channel><description><![CDATA[ </item> ]]></description><item><link>http://x/a</link></item></channel></rss>"
    assert entry_layout(body) is None


# --- defect 13: feeds that are gone ---------------------------------------------------------------------
def test_410_is_gone_at_once_and_404_after_repeated_answers(es_url: str, tmp_path: Path, pool: ExtractPool) -> None:
    with FaultServer() as server:
        server.routes["/gone.xml"] = respond(410, "gone", "text/plain")
        server.routes["/missing.xml"] = respond(404, "no", "text/plain")
        specs = [
            FeedSpec(id="gone", url=server.url("/gone.xml")),
            FeedSpec(id="missing", url=server.url("/missing.xml")),
        ]
        with Fetcher(fast_policy()) as fetcher, engine_passes(
            es_url, tmp_path, specs, fetcher=fetcher, pool=pool, max_backoff_s=7200, gone_after_404s=3
        ) as passes:  # fmt: skip
            for number in range(1, 4):
                now = NOW + timedelta(hours=number - 1)
                summary = passes.run(now, only_due=False)
                gone, missing = passes.state("gone"), passes.state("missing")
                assert gone.gone and gone.next_poll_at == now + timedelta(seconds=7200)
                assert "gone (HTTP 410)" in (gone.last_error or "")
                permanent = {f.subject: not f.transient for f in summary.failures}
                assert permanent == {"gone": True, "missing": number == 3}
                assert (missing.gone, missing.consecutive_not_found) == (number == 3, number)
            assert missing.next_poll_at == now + timedelta(seconds=7200)
            assert "gone (3 HTTP 404 answers in a row)" in (missing.last_error or "")

            # The feed comes back: it is polled normally again.
            server.routes["/missing.xml"] = respond(
                200, numbered_rss(server.base_url, 1, oldest_first=True, dated=False), RSS
            )
            passes.run(NOW + timedelta(hours=3), only_due=False)
            back = passes.state("missing")
            assert (back.gone, back.consecutive_not_found, back.consecutive_failures) == (False, 0, 0)


def test_another_failure_breaks_a_run_of_404s() -> None:
    backoff = Backoff(interval_s=60, max_backoff_s=3600)
    state = FeedState(feed_id="f")
    for status in (404, 404, 500, 404, 404):
        state = failed(state, now=NOW, error=f"HTTP {status}", backoff=backoff, status=status, gone_after_404s=3)
    assert (state.gone, state.consecutive_not_found, state.consecutive_failures) == (False, 2, 5)
