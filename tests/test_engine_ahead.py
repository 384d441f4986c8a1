"""Fetching runs at most ``engine_fetch_ahead`` pages ahead of the bulk writer (``wirewatch.engine.ahead``): in a
burst the pages wait unfetched, so a fetched page goes straight through extraction and the writer and its
alert's clock does not run while it queues.

The gate's own rules with real threads; then a burst of pages on a real loopback site into the real node,
where the site itself records, as each page is requested, how many of the burst's articles are already in
the index (a realtime get, no timing).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from ingest.urls import article_id, canonical_url
from tests.support.flow import feed_list, page, rss, serve, wait_until
from tests.support.ingest_servers import FaultServer
from wirewatch.engine import run_engine
from wirewatch.engine.ahead import FetchAhead, Ticket
from wirewatch.engine.gate import Halted
from wirewatch.engine.options import EngineOptions
from wirewatch.pipeline import ensure_indices
from wirewatch.runtime import build_runtime
from wirewatch.settings import load_settings

RSS = "application/rss+xml"


class Taker(threading.Thread):
    """A fetcher asking the gate for a ticket in the background."""

    def __init__(self, ahead: FetchAhead) -> None:
        super().__init__(daemon=True)
        self.ahead = ahead
        self.ticket: Ticket | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.ticket = self.ahead.ticket()
        except BaseException as exc:
            self.error = exc


def test_a_fetch_past_the_bound_waits_for_a_written_page() -> None:
    ahead = FetchAhead(2, slow_s=60, halt=threading.Event())
    first, second = ahead.ticket(), ahead.ticket()
    first.fetched()
    taker = Taker(ahead)
    taker.start()
    assert wait_until(lambda: ahead.blocking)
    assert taker.ticket is None and ahead.in_use == 2
    first.release()  # the first page's article is written
    taker.join(10)
    assert taker.ticket is not None and ahead.in_use == 2
    second.release()
    taker.ticket.release()
    assert ahead.in_use == 0 and not ahead.blocking


def test_release_is_idempotent_and_a_failed_fetch_gives_its_place_back() -> None:
    ahead = FetchAhead(1, slow_s=60, halt=threading.Event())
    failed = ahead.ticket()  # the fetch fails: released without ever being fetched
    failed.release()
    failed.release()
    page = ahead.ticket()
    page.fetched()
    page.release()
    page.release()
    assert ahead.in_use == 0
    ahead.ticket().release()  # one place, free again: no wait


def test_a_slow_fetch_stops_holding_back_the_others_until_its_page_is_back() -> None:
    ahead = FetchAhead(1, slow_s=0.2, halt=threading.Event())
    slow = ahead.ticket()
    taker = Taker(ahead)
    taker.start()
    taker.join(10)  # the slow fetch turned old: the next one starts without waiting for it
    assert taker.ticket is not None
    slow.fetched()  # its page is back: it counts again until written
    assert ahead.in_use == 2
    slow.release()
    taker.ticket.release()
    assert ahead.in_use == 0


def test_a_halt_ends_the_wait() -> None:
    halt = threading.Event()
    ahead = FetchAhead(1, slow_s=60, halt=halt)
    ahead.ticket()
    taker = Taker(ahead)
    taker.start()
    assert wait_until(lambda: ahead.blocking)
    halt.set()
    taker.join(10)
    assert isinstance(taker.error, Halted) and taker.ticket is None


def test_no_bound_when_the_setting_is_zero() -> None:
    ahead = FetchAhead(0, slow_s=60, halt=threading.Event())
    tickets = [ahead.ticket() for _ in range(50)]
    assert ahead.in_use == 50 and not ahead.blocking
    for t in tickets:
        t.release()


PAGES = 10
# A batch waits this long for more articles unless fetching waits for it: without the bound nothing makes the
# writer write before the whole burst is fetched; with it, the first write comes as soon as fetching stops.
FLUSH_AGE_S = 3.0


def _burst(es_url: str, prefix: str, tmp_path: Path, fetch_ahead: int) -> tuple[list[tuple[int, int]], Any]:
    """One feed listing PAGES articles; returns, per page request in arrival order, (its rank, how many of
    the burst's articles were in the index when it arrived), and the pass summary."""
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()
    with FaultServer() as site:
        urls = [site.url(f"/a{n}.html") for n in range(PAGES)]
        ids = [article_id(canonical_url(u)) for u in urls]
        es = Elasticsearch(es_url)
        names_holder: dict[str, str] = {}

        def counted(n: int) -> Any:
            body = page(f"Harbour story {n}", f"Story number {n} about the harbour council and its budget. " * 30)

            def route(h: Any) -> None:
                written = es.mget(index=names_holder["articles"], ids=ids, source=False)["docs"]
                with lock:
                    seen.append((len(seen) + 1, sum(1 for d in written if d.get("found"))))
                serve(body, "text/html")(h)

            return route

        site.routes["/feed.xml"] = serve(rss([(f"Harbour story {n}", u) for n, u in enumerate(urls)]), RSS)
        for n in range(PAGES):
            site.routes[f"/a{n}.html"] = counted(n)
        feeds = feed_list(tmp_path / f"feeds-{fetch_ahead}.yaml", {"burst": site.url("/feed.xml")})
        settings = load_settings(
            es_url=es_url, es_index_prefix=prefix, feeds_file=feeds, http_allow_loopback=True,
            extract_workers=1, ner_enabled=False, http_max_per_host=PAGES, channels_file=tmp_path / "none.yaml",
            engine_flush_age_s=FLUSH_AGE_S,
        )  # fmt: skip
        rt = build_runtime(settings)
        try:
            ensure_indices(rt)
            names_holder["articles"] = rt.names.articles
            options = EngineOptions.from_settings(settings, fetch_ahead=fetch_ahead, fetch_slow_s=120.0)
            with rt.tools() as tools:
                summary = run_engine(rt, tools, rt.feeds(), options=options, channels={})
        finally:
            rt.es.close()
            es.close()
    return seen, summary


@pytest.mark.parametrize("fetch_ahead", [1, 3])
def test_a_burst_is_fetched_no_further_ahead_than_the_writer_allows(
    es_url: str, index_prefix: str, tmp_path: Path, fetch_ahead: int
) -> None:
    seen, summary = _burst(es_url, index_prefix, tmp_path, fetch_ahead)
    assert summary.entries["indexed"] == PAGES and summary.failures == []
    assert [rank for rank, _ in seen] == list(range(1, PAGES + 1))
    # the k-th page is requested only once at most fetch_ahead - 1 earlier pages wait for a write, and at most
    # fetch_ahead more are in the write under way (they made room for the next fetches when it started)
    assert all(written >= rank - 2 * fetch_ahead for rank, written in seen), seen


def test_without_the_bound_the_whole_burst_is_fetched_before_the_first_write(
    es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    seen, summary = _burst(es_url, index_prefix, tmp_path, 0)
    assert summary.entries["indexed"] == PAGES
    assert max(rank - written for rank, written in seen) > 6, seen  # what the bound of 1 or 3 prevents
