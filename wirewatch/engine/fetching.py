"""The HTTP stages: poll feeds, fetch pages. At most ``http_connections`` requests at once in total (one
semaphore over both). Each stage takes a job's per-host slot first (``engine/hosts.py``): a job whose host is
full waits parked, holding neither a thread nor a connection slot, so a slow host holds only its own slots.
The fetcher's own per-host limit caps polls and pages of one host together."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ingest.errors import FetchError
from ingest.extract import PageInput
from ingest.feedlist import FeedSpec
from ingest.feeds import FeedItem, poll_feed
from ingest.feedwork import FeedWork, page_input
from ingest.state import Backoff, FeedState
from wirewatch.engine.gate import Halted
from wirewatch.engine.hosts import host_of
from wirewatch.engine.jobs import ExtractJob, PageJob
from wirewatch.steps import Step

if TYPE_CHECKING:
    from wirewatch.engine.ahead import Ticket
    from wirewatch.engine.core import Engine


def poll_loop(engine: Engine) -> None:
    while (first := engine.feeds.get()) is not None:
        host = host_of(first.url)
        spec: FeedSpec | None = first if engine.poll_hosts.take_or_park(host, first) else None
        while spec is not None:  # this thread holds a slot of ``host``: it runs the feeds parked on it too
            if engine.halt.is_set():
                raise Halted()
            began = time.perf_counter()
            try:
                poll_one(engine, spec)
            except Halted:
                raise
            except Exception as exc:  # a feed that raises anything is that feed's failure, never the pass's
                engine.feed_crashed(spec, exc)
            finally:
                engine.busy("poll", time.perf_counter() - began)
            spec = engine.poll_hosts.hand_over(host)


def poll_one(engine: Engine, spec: FeedSpec) -> None:
    from search.known import existing_ids

    opts = engine.opts
    with engine.lock:
        state = engine.states.get(spec.id) or FeedState(feed_id=spec.id)
    backoff = Backoff(interval_s=spec.interval_s, max_backoff_s=opts.max_backoff_s)
    with engine.http_slots:
        poll = poll_feed(
            spec, state, fetcher=engine.tools.fetcher, now=engine.now(), max_entries=opts.max_entries,
            backoff=backoff, max_parse_entries=opts.max_parse_entries, gone_after_404s=opts.gone_after_404s,
        )  # fmt: skip
    work, candidates = engine.polled(poll)
    if candidates:
        rt = engine.rt
        ids = [item.id for item in candidates]
        known = engine.gate.call(lambda: existing_ids(rt.es, rt.names, ids))
        engine.update(work, Step.POLL, lambda: _already_indexed(engine, work, candidates, known))
        for item in [i for i in candidates if i.id not in known]:
            engine.pages.put(PageJob(work, item))
    engine.check_done([work])


def _already_indexed(engine: Engine, work: FeedWork, candidates: list[FeedItem], known: set[str]) -> None:
    for item in candidates:
        if item.id in known:
            work.close_entry(engine.claims, item, "duplicate", "already indexed")


def fetch_loop(engine: Engine) -> None:
    while (first := engine.pages.get()) is not None:
        host = host_of(first.item.link)
        job: PageJob | None = first if engine.page_hosts.take_or_park(host, first) else None
        while job is not None:  # this thread holds a slot of ``host``: it runs the pages parked on it too
            if engine.halt.is_set():
                raise Halted()
            fetch_and_pass_on(engine, job)
            job = engine.page_hosts.hand_over(host)


def fetch_and_pass_on(engine: Engine, job: PageJob) -> None:
    ticket = engine.ahead.ticket()  # waits while enough fetched pages wait for a write
    began = time.perf_counter()
    page = fetch_one(engine, job, ticket)
    engine.busy("fetch", time.perf_counter() - began)
    if page is not None:
        engine.extracts.put(ExtractJob(job.work, job.item, page, ticket))
    else:
        ticket.release()
        engine.check_done([job.work])


def fetch_one(engine: Engine, job: PageJob, ticket: Ticket | None = None) -> PageInput | None:
    """The page ready for extraction, or None when the entry settled here (a named failure)."""
    work, item = job.work, job.item
    try:
        with engine.http_slots:
            try:
                result = engine.tools.fetcher.fetch(item.link, kind="page")
            finally:
                if ticket is not None:
                    ticket.fetched()
        page = page_input(item, result, fetched_at=engine.now(), min_chars=engine.opts.min_chars)
    except FetchError as exc:
        reason, transient = exc.reason, exc.transient
        engine.update(work, Step.FETCH, lambda: work.close_entry(engine.claims, item, "failed", reason, transient))
        return None
    except Exception as exc:  # anything else is this page's failure: named, and tried again on a later pass
        reason = f"crashed while fetching: {type(exc).__name__}: {exc}"
        engine.update(work, Step.FETCH, lambda: work.close_entry(engine.claims, item, "failed", reason, True))
        return None
    with engine.lock:
        engine.progress.pages_fetched += 1
        engine.summary.pages_fetched += 1
    return page
