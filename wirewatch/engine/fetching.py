"""The HTTP stages: poll feeds, fetch pages. At most ``http_connections`` requests at once in total (one
semaphore over both, ``connections``). Each stage takes a job's per-host slot first (``engine/hosts.py``): a
job whose host is full waits parked, holding neither a thread nor a connection slot, so a slow host holds only
its own slots. The fetcher's own per-host limit caps polls and pages of one host together."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ingest.errors import FetchError
from ingest.extract import PageInput
from ingest.feedlist import FeedSpec
from ingest.feeds import FeedItem, poll_feed
from ingest.feedwork import FeedWork, page_input
from ingest.state import Backoff
from wirewatch.engine.gate import EsGate, Halted
from wirewatch.engine.hosts import HostSlots, host_of
from wirewatch.engine.jobs import ExtractJob, PageJob
from wirewatch.engine.ledger import FeedLedger
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.queues import Stage
from wirewatch.steps import Step

if TYPE_CHECKING:
    from ingest.fetch import Fetcher
    from wirewatch.engine.ahead import FetchAhead, Ticket

KnownIds = Callable[[list[str]], set[str]]  # which of these article ids the index already holds


class Poller:
    """``feeds`` in, ``pages`` out: polls each feed, records it in the ledger, queues its new entries."""

    def __init__(
        self,
        feeds: Stage[FeedSpec],
        pages: Stage[PageJob],
        *,
        ledger: FeedLedger,
        gate: EsGate,
        known_ids: KnownIds,
        fetcher: Fetcher,
        connections: threading.BoundedSemaphore,
        opts: EngineOptions,
        now: Callable[[], datetime],
    ) -> None:
        self.feeds, self.pages, self.ledger, self.gate, self.known_ids = feeds, pages, ledger, gate, known_ids
        self.fetcher, self.connections, self.opts, self.now = fetcher, connections, opts, now
        # taken before ``connections``: a feed whose host is full waits parked, not in a thread
        self.hosts: HostSlots[FeedSpec] = HostSlots(opts.http_per_host)

    def run(self) -> None:
        ledger = self.ledger
        while (first := self.feeds.get()) is not None:
            host = host_of(first.url)
            spec: FeedSpec | None = first if self.hosts.take_or_park(host, first) else None
            while spec is not None:  # this thread holds a slot of ``host``: it runs the feeds parked on it too
                if ledger.halt.is_set():
                    raise Halted()
                began = time.perf_counter()
                try:
                    self.poll_one(spec)
                except Halted:
                    raise
                except Exception as exc:  # a feed that raises anything is that feed's failure, never the pass's
                    ledger.feed_crashed(spec, exc)
                finally:
                    ledger.busy("poll", time.perf_counter() - began)
                spec = self.hosts.hand_over(host)

    def poll_one(self, spec: FeedSpec) -> None:
        opts, ledger = self.opts, self.ledger
        state = ledger.state_of(spec.id)
        backoff = Backoff(interval_s=spec.interval_s, max_backoff_s=opts.max_backoff_s)
        with self.connections:
            poll = poll_feed(
                spec, state, fetcher=self.fetcher, now=self.now(), max_entries=opts.max_entries,
                backoff=backoff, max_parse_entries=opts.max_parse_entries, gone_after_404s=opts.gone_after_404s,
            )  # fmt: skip
        work, candidates = ledger.polled(poll)
        if candidates:
            ids = [item.id for item in candidates]
            known = self.gate.call(lambda: self.known_ids(ids))
            ledger.update(work, Step.POLL, lambda: self._already_indexed(work, candidates, known))
            for item in [i for i in candidates if i.id not in known]:
                self.pages.put(PageJob(work, item))
        ledger.check_done([work])

    def _already_indexed(self, work: FeedWork, candidates: list[FeedItem], known: set[str]) -> None:
        for item in candidates:
            if item.id in known:
                work.close_entry(self.ledger.claims, item, "duplicate", "already indexed")


class PageFetcher:
    """``pages`` in, ``extracts`` out: fetches each entry's page, at most ``ahead`` pages ahead of the writer."""

    def __init__(
        self,
        pages: Stage[PageJob],
        extracts: Stage[ExtractJob],
        *,
        ledger: FeedLedger,
        ahead: FetchAhead,
        fetcher: Fetcher,
        connections: threading.BoundedSemaphore,
        opts: EngineOptions,
        now: Callable[[], datetime],
    ) -> None:
        self.pages, self.extracts, self.ledger, self.ahead = pages, extracts, ledger, ahead
        self.fetcher, self.connections, self.opts, self.now = fetcher, connections, opts, now
        self.hosts: HostSlots[PageJob] = HostSlots(opts.http_per_host)

    def run(self) -> None:
        while (first := self.pages.get()) is not None:
            host = host_of(first.item.link)
            job: PageJob | None = first if self.hosts.take_or_park(host, first) else None
            while job is not None:  # this thread holds a slot of ``host``: it runs the pages parked on it too
                if self.ledger.halt.is_set():
                    raise Halted()
                self.fetch_and_pass_on(job)
                job = self.hosts.hand_over(host)

    def fetch_and_pass_on(self, job: PageJob) -> None:
        ticket = self.ahead.ticket()  # waits while enough fetched pages wait for a write
        began = time.perf_counter()
        page = self.fetch_one(job, ticket)
        self.ledger.busy("fetch", time.perf_counter() - began)
        if page is not None:
            self.extracts.put(ExtractJob(job.work, job.item, page, ticket))
        else:
            ticket.release()
            self.ledger.check_done([job.work])

    def fetch_one(self, job: PageJob, ticket: Ticket | None = None) -> PageInput | None:
        """The page ready for extraction, or None when the entry settled here (a named failure)."""
        work, item, ledger = job.work, job.item, self.ledger
        try:
            with self.connections:
                try:
                    result = self.fetcher.fetch(item.link, kind="page")
                finally:
                    if ticket is not None:
                        ticket.fetched()
            page = page_input(item, result, fetched_at=self.now(), min_chars=self.opts.min_chars)
        except FetchError as exc:
            reason, transient = exc.reason, exc.transient
            ledger.update(work, Step.FETCH, lambda: work.close_entry(ledger.claims, item, "failed", reason, transient))
            return None
        except Exception as exc:  # anything else is this page's failure: named, and tried again on a later pass
            reason = f"crashed while fetching: {type(exc).__name__}: {exc}"
            ledger.update(work, Step.FETCH, lambda: work.close_entry(ledger.claims, item, "failed", reason, True))
            return None
        ledger.advance("pages_fetched")
        return page
