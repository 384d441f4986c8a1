"""One ingest pass over a list of feeds: poll -> fetch pages -> extract.

It returns everything the pipeline needs to tag, index and then commit feed states (docs/design.md invariant 2).

The pipeline calls ``collect``, writes ``batch.articles``, then calls ``batch.finish(written_ids, errors,
refused_ids)`` for the final per-entry outcomes and ``batch.states_to_commit(written_ids | refused_ids)`` for the
feed states it may now save: a feed's state is offered only when every article its entries lead to was
written, or refused for good by the index (a document it will never accept must not freeze its feed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.errors import FetchError
from ingest.extract import Article
from ingest.feedlist import FeedSpec
from ingest.feeds import FeedItem, FeedPoll, poll_feed
from ingest.feedwork import Claims, FeedWork, page_input
from ingest.fetch import Fetcher, FetchResult
from ingest.outcomes import EntryOutcome, tally
from ingest.pool import ExtractPool
from ingest.state import Backoff, FeedState, failed

KnownIds = Callable[[list[str]], set[str]]


@dataclass(frozen=True)
class PendingEntry:
    """An entry whose article is in ``IngestBatch.articles``, waiting for the write to become ``indexed``."""

    feed_id: str
    entry_id: str
    url: str
    article_id: str


@dataclass
class IngestBatch:
    polls: list[FeedPoll]
    articles: list[Article] = field(default_factory=list)
    outcomes: list[EntryOutcome] = field(default_factory=list)
    pending: list[PendingEntry] = field(default_factory=list)
    proposed_states: dict[str, FeedState] = field(default_factory=dict)
    depends_on: dict[str, set[str]] = field(default_factory=dict)  # feed id -> article ids it needs written
    not_due: list[str] = field(default_factory=list)

    @property
    def offered(self) -> int:
        """Entries the polled feeds offered in this pass (what the outcome counts must add up to)."""
        return sum(len(p.items) + len(p.deferred) for p in self.polls)

    @property
    def feed_failures(self) -> dict[str, str]:
        return {p.spec.id: p.error or "" for p in self.polls if p.status == "failed"}

    def finish(
        self,
        written_ids: set[str],
        errors: Mapping[str, str] | None = None,
        refused_ids: Set[str] = frozenset(),
    ) -> list[EntryOutcome]:
        """All outcomes once the write is done: pending entries become ``indexed`` or ``failed``.

        A failed write is transient (the entry is tried again) unless its article is in ``refused_ids``: the
        index refused it for good, so the entry settles as a permanent failure.
        """
        final = list(self.outcomes)
        for entry in self.pending:
            if entry.article_id in written_ids:
                final.append(
                    EntryOutcome(feed_id=entry.feed_id, entry_id=entry.entry_id, url=entry.url, state="indexed")
                )
            else:
                reason = (errors or {}).get(entry.article_id, "not written to the index")
                refused = entry.article_id in refused_ids
                final.append(
                    EntryOutcome(
                        feed_id=entry.feed_id,
                        entry_id=entry.entry_id,
                        url=entry.url,
                        state="failed",
                        detail=f"index refused the article: {reason}" if refused else f"index write failed: {reason}",
                        transient=not refused,
                    )
                )
        return final

    def states_to_commit(self, settled_ids: Set[str]) -> dict[str, dict[str, Any]]:
        """States (as dicts, for a FeedStateStore) of the feeds whose articles are all settled: written, or
        refused for good by the index."""
        return {
            feed_id: state.to_dict()
            for feed_id, state in self.proposed_states.items()
            if self.depends_on.get(feed_id, set()) <= settled_ids
        }

    def counts(self, written_ids: set[str]) -> dict[str, int]:
        return tally(self.finish(written_ids))


@dataclass(frozen=True, kw_only=True)
class CollectOptions:
    max_entries: int = 100
    max_parse_entries: int = 500  # entries read from one feed document (the newest); bounds the parse
    gone_after_404s: int = 3  # a feed answering 404 this many polls in a row is gone (like a 410)
    min_chars: int = 250
    max_backoff_s: int = 6 * 3600
    threads: int = 8  # concurrent HTTP requests; the fetcher's per-host limit still applies
    only_due: bool = True  # False polls every feed now, whatever its next_poll_at
    # transient extraction failures (deadline passed, worker died) of one entry before it fails for good
    max_extract_attempts: int = 3


def collect(
    feeds: Sequence[FeedSpec],
    states: Mapping[str, FeedState],
    *,
    fetcher: Fetcher,
    pool: ExtractPool,
    known_ids: KnownIds,
    now: datetime,
    options: CollectOptions | None = None,
) -> IngestBatch:
    """Poll the due feeds, fetch and extract their new entries.

    Feed and page faults are recorded, never raised. Only ``known_ids`` failing (the index is unreachable)
    propagates: without it nothing can be decided, and no feed state has been proposed for commit yet.
    """
    opts = options or CollectOptions()
    current = {f.id: states.get(f.id) or FeedState(feed_id=f.id) for f in feeds}
    due = [f for f in feeds if not opts.only_due or current[f.id].is_due(now)]
    batch = IngestBatch(polls=[], not_due=[f.id for f in feeds if f not in due])
    with ThreadPoolExecutor(max_workers=max(1, opts.threads)) as threads:
        batch.polls = list(threads.map(lambda spec: _poll(spec, current[spec.id], fetcher, now, opts), due))
        _Pass(batch, fetcher, pool, known_ids, now, opts, threads).run()
    return batch


def _poll(spec: FeedSpec, state: FeedState, fetcher: Fetcher, now: datetime, opts: CollectOptions) -> FeedPoll:
    backoff = Backoff(interval_s=spec.interval_s, max_backoff_s=opts.max_backoff_s)
    try:
        return poll_feed(
            spec,
            state,
            fetcher=fetcher,
            now=now,
            max_entries=opts.max_entries,
            backoff=backoff,
            max_parse_entries=opts.max_parse_entries,
            gone_after_404s=opts.gone_after_404s,
        )
    except Exception as exc:  # a fault nobody foresaw in one feed must not stop the other feeds' pass
        error = unexpected(exc)
        return FeedPoll(spec, "failed", failed(state, now=now, error=error, backoff=backoff), state, error=error)


def unexpected(exc: Exception) -> str:
    """The reason recorded for an exception no rule foresaw: its type and message, shortened."""
    return f"unexpected {type(exc).__name__}: {str(exc)[:300]}"


class _Pass:
    """The entry-level work of one batch pass, entry by entry through the per-feed pieces of ``feedwork``
    (the streaming engine calls the same pieces as its stages finish)."""

    def __init__(
        self,
        batch: IngestBatch,
        fetcher: Fetcher,
        pool: ExtractPool,
        known_ids: KnownIds,
        now: datetime,
        opts: CollectOptions,
        threads: ThreadPoolExecutor,
    ) -> None:
        self.batch, self.fetcher, self.pool, self.known_ids = batch, fetcher, pool, known_ids
        self.now, self.opts, self.threads = now, opts, threads
        self.claims = Claims()
        self.lock = threading.Lock()  # fetch threads close entries; the bookkeeping takes one at a time
        self.works = [FeedWork(poll, max_extract_attempts=opts.max_extract_attempts) for poll in batch.polls]

    def run(self) -> None:
        candidates = [(w, item) for w in self.works for item in w.triage(self.claims, self.opts.max_entries)]
        known = self.known_ids([item.id for _, item in candidates]) if candidates else set()
        fresh = [(w, item) for w, item in candidates if not self._already_indexed(w, item, item.id in known)]
        fetched = list(self.threads.map(self._fetch, fresh))
        pages = [(w, item, result) for (w, item), result in zip(fresh, fetched, strict=True) if result is not None]
        self._extract(pages)
        for work in self.works:
            self._close(work)

    def _already_indexed(self, work: FeedWork, item: FeedItem, known: bool) -> bool:
        if known:
            work.close_entry(self.claims, item, "duplicate", "already indexed")
        return known

    def _fetch(self, job: tuple[FeedWork, FeedItem]) -> FetchResult | None:
        work, item = job
        try:
            return self.fetcher.fetch(item.link, kind="page")
        except FetchError as exc:
            with self.lock:
                work.close_entry(self.claims, item, "failed", exc.reason, exc.transient)
        except Exception as exc:  # one page's unforeseen fault: a named, settled failure, not a dead pass
            with self.lock:
                work.close_entry(self.claims, item, "failed", unexpected(exc), False)
        return None

    def _extract(self, fetched: list[tuple[FeedWork, FeedItem, FetchResult]]) -> None:
        pages, inputs = [], []
        for work, item, result in fetched:
            try:
                inputs.append(page_input(item, result, fetched_at=self.now, min_chars=self.opts.min_chars))
            except Exception as exc:  # e.g. bytes the decoder chokes on: this page fails, the rest go on
                work.close_entry(self.claims, item, "failed", unexpected(exc), False)
                continue
            pages.append((work, item, result))
        outcomes = self.pool.run(inputs) if inputs else []
        produced = []
        for (work, item, _), outcome in zip(pages, outcomes, strict=True):
            article = work.extracted(self.claims, item, outcome)
            if article is not None:
                produced.append((work, item, article))
        # The page's canonical link can give another id than the entry's link: check those ids once more.
        moved = [a.id for _, item, a in produced if a.id != item.id]
        known = self.known_ids(moved) if moved else set()
        for work, item, article in produced:
            if work.accept(self.claims, item, article, article.id in known):
                self.batch.articles.append(article)
                self.batch.pending.append(PendingEntry(item.feed_id, item.id, item.link, article.id))

    def _close(self, work: FeedWork) -> None:
        """The work's outcomes and proposed state into the batch; the write decides the rest (``finish``)."""
        feed_id = work.feed_id
        self.batch.outcomes.extend(work.outcomes)
        depends = set(work.waits_on)
        for entry_id in work.open_twins:
            # A feed that shares an entry with another must wait for that entry's article to be written too.
            if entry_id in self.claims.article_of:
                depends.add(self.claims.article_of[entry_id])
        self.batch.depends_on[feed_id] = depends
        self.batch.proposed_states[feed_id] = work.proposed_state()
