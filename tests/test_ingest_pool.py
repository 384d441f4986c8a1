"""The extraction pool: results in order, a stuck page killed at its deadline without losing the others."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from ingest.extract import PageInput
from ingest.pool import ExtractPool
from seeds.server import render

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
EXPECTED = json.loads((SEEDS / "expected.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BASE = "http://news.example.org"


def _page(html: str, path: str = "/news/2018/02/isis-terror-path-libya.html") -> PageInput:
    return PageInput(
        html=html,
        url=BASE + path,
        source="test",
        fetched_at=NOW,
        feed_published_at=datetime(2018, 2, 1, tzinfo=UTC),
        feed_title="From the feed",
    )


SEED = render("article.html", BASE).decode("utf-8")
# 20,000 sibling blocks on one line: lxml and trafilatura's scoring take over ten seconds on it here.
PATHOLOGICAL = (
    "<html><body>"
    + "".join(f"<div class='c{i}'><p>word {i} and some text here to extract</p></div>" for i in range(20_000))
    + "</body></html>"
)


def test_stuck_page_is_killed_and_the_rest_still_extracts() -> None:
    with ExtractPool(workers=1, deadline_s=1.5) as pool:
        started = time.monotonic()
        outcomes = pool.run([_page(PATHOLOGICAL), _page(SEED), _page(SEED)])
        elapsed = time.monotonic() - started
        assert pool.replaced == 1
    assert outcomes[0].article is None and "deadline of 1.5 s passed" in (outcomes[0].error or "")
    for outcome in outcomes[1:]:
        assert outcome.article is not None and outcome.article.title == EXPECTED["title"]
    assert elapsed < 10  # the killed page did not run to its natural end (over 10 s)


def test_results_come_back_in_input_order_with_reasons() -> None:
    short = "<html><body><p>Too little.</p></body></html>"
    pages = [_page(SEED), _page(short, "/a"), _page("", "/b"), _page(SEED.replace("Libya", "Chad"), "/c")]
    with ExtractPool(workers=2, deadline_s=20) as pool:
        outcomes = pool.run(pages)
    assert outcomes[0].article is not None and "Libya" in outcomes[0].article.text
    assert outcomes[1].skipped is not None and outcomes[1].article is None
    assert outcomes[2].skipped is not None or outcomes[2].error is not None
    assert outcomes[3].article is not None and "Chad" in outcomes[3].article.text


def test_page_date_wins_over_the_feed_date_and_the_feed_fills_in() -> None:
    undated = SEED.replace("2018-02-23T09:30:00+00:00", "").replace("February 23, 2018", "")
    with ExtractPool(workers=1, deadline_s=20) as pool:
        dated, from_feed = pool.run([_page(SEED), _page(undated)])
    assert dated.article is not None and from_feed.article is not None
    assert (dated.article.published_at, dated.article.date_source) == (datetime(2018, 2, 23, 9, 30, tzinfo=UTC), "page")
    assert (from_feed.article.published_at, from_feed.article.date_source) == (datetime(2018, 2, 1, tzinfo=UTC), "feed")
