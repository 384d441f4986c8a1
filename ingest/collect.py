"""One ingest pass over a list of feeds: poll -> fetch pages -> extract.

It returns everything the pipeline needs to tag, index and then commit feed states (design.md invariant 2).

The pipeline calls ``collect``, writes ``batch.articles``, then calls ``batch.finish(written_ids, errors,
refused_ids)`` for the final per-entry outcomes and ``batch.states_to_commit(written_ids | refused_ids)`` for the
feed states it may now save: a feed's state is offered only when every article its entries lead to was
written, or refused for good by the index (a document it will never accept must not freeze its feed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ingest.charset import decode_html
from ingest.errors import FetchError
from ingest.extract import Article, PageInput
from ingest.feeds import FeedItem, FeedPoll, FeedSpec, poll_feed, settle
from ingest.fetch import Fetcher, FetchResult
from ingest.outcomes import EntryOutcome, OutcomeState, tally
from ingest.pool import ExtractPool
from ingest.state import Backoff, FeedState

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
                    EntryOutcome(
                        feed_id=entry.feed_id, entry_id=entry.entry_id, url=entry.url, state="indexed"
                    )
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


def _poll(
    spec: FeedSpec, state: FeedState, fetcher: Fetcher, now: datetime, opts: CollectOptions
) -> FeedPoll:
    backoff = Backoff(interval_s=spec.interval_s, max_backoff_s=opts.max_backoff_s)
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


class _Pass:
    """The entry-level work of one pass; kept as an object so each step stays a small method."""

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
        self.unfinished: dict[str, set[str]] = {p.spec.id: set() for p in batch.polls}
        self.taken: dict[str, str] = {}  # article id -> feed id that produced it in this pass
        self.article_of: dict[str, str] = {}  # entry id -> id of the article it produced
        self.link_twins: list[tuple[str, str]] = []  # (feed id, entry id) of entries another feed also had
        self.previous = {p.spec.id: p.previous_state for p in batch.polls}
        self.attempts: dict[str, dict[str, int]] = {p.spec.id: {} for p in batch.polls}  # failed extractions

    def run(self) -> None:
        candidates = self._triage()
        known = self.known_ids([i.id for i in candidates]) if candidates else set()
        fresh = [i for i in candidates if not self._duplicate_of_index(i, i.id, known)]
        fetched = list(self.threads.map(self._fetch, fresh))
        pages = [(item, result) for item, result in zip(fresh, fetched, strict=True) if result is not None]
        self._extract(pages)
        for feed_id, entry_id in self.link_twins:
            # A feed that shares an entry with another must wait for that entry's article to be written too.
            if entry_id in self.article_of:
                self.batch.depends_on[feed_id].add(self.article_of[entry_id])
        for poll in self.batch.polls:
            state = settle(poll, self.unfinished[poll.spec.id])
            self.batch.proposed_states[poll.spec.id] = self._with_attempts(poll, state)

    def _with_attempts(self, poll: FeedPoll, state: FeedState) -> FeedState:
        """The extraction attempts to remember: this pass's, and earlier ones of entries still unfinished.

        An entry that settled (indexed, failed for good...) or that the feed no longer lists is forgotten.
        """
        if poll.status != "ok":
            return state  # no entries were looked at: the earlier counts stand
        unfinished = self.unfinished[poll.spec.id]
        earlier = poll.previous_state.extraction_attempts
        kept = {entry_id: n for entry_id, n in earlier.items() if entry_id in unfinished}
        kept.update(self.attempts[poll.spec.id])
        return replace(state, extraction_attempts=kept)

    def _record(
        self, item: FeedItem, state: OutcomeState, detail: str | None = None, transient: bool = False
    ) -> None:
        self.batch.outcomes.append(
            EntryOutcome(
                feed_id=item.feed_id,
                entry_id=item.id,
                url=item.link,
                state=state,
                detail=detail,
                transient=transient,
            )
        )
        if transient:
            self.unfinished[item.feed_id].add(item.id)

    def _triage(self) -> list[FeedItem]:
        """Entries that need fetching; the rest get their final state here."""
        candidates: list[FeedItem] = []
        claimed: dict[str, str] = {}  # entry id -> feed that took it first in this pass
        for poll in self.batch.polls:
            self.batch.depends_on.setdefault(poll.spec.id, set())
            for item in poll.items:
                if item.skip_rule:
                    self._record(item, "skipped", item.skip_rule)
                elif item.rejection:
                    self._record(item, "failed", item.rejection)
                elif item.id in poll.previous_state.seen_ids:
                    self._record(item, "not_modified", "taken on an earlier pass of this feed")
                elif item.id in claimed:
                    self._record(item, "duplicate", f"same link as an entry of feed {claimed[item.id]}")
                    self.link_twins.append((poll.spec.id, item.id))
                else:
                    claimed[item.id] = item.feed_id
                    candidates.append(item)
            for item in poll.deferred:
                self._record(item, "skipped", f"max_entries_per_pass ({self.opts.max_entries})")
                self.unfinished[item.feed_id].add(item.id)
        return candidates

    def _duplicate_of_index(self, item: FeedItem, article_id: str, known: set[str]) -> bool:
        if article_id in known:
            self._record(item, "duplicate", "already indexed")
            return True
        return False

    def _fetch(self, item: FeedItem) -> FetchResult | None:
        try:
            return self.fetcher.fetch(item.link, kind="page")
        except FetchError as exc:
            self._record(item, "failed", exc.reason, transient=exc.transient)
            return None

    def _extract(self, pages: list[tuple[FeedItem, FetchResult]]) -> None:
        inputs = [self._page_input(item, result) for item, result in pages]
        outcomes = self.pool.run(inputs) if inputs else []
        produced = [(item, o.article) for (item, _), o in zip(pages, outcomes, strict=True) if o.article]
        for (item, _), outcome in zip(pages, outcomes, strict=True):
            if outcome.skipped:
                self._record(item, "skipped", f"too_short: {outcome.skipped}")
            elif outcome.error and outcome.transient:
                self._extraction_failed_transiently(item, outcome.error)
            elif outcome.error:
                self._record(item, "failed", outcome.error)
        # The page's canonical link can give another id than the entry's link: check those ids once more.
        moved = [a.id for item, a in produced if a.id != item.id]
        known = self.known_ids(moved) if moved else set()
        for item, article in produced:
            self._accept(item, article, known)

    def _extraction_failed_transiently(self, item: FeedItem, error: str) -> None:
        """Retry on a later pass (the entry stays out of seen ids) until the cap, then fail for good."""
        attempts = self.previous[item.feed_id].extraction_attempts.get(item.id, 0) + 1
        cap = max(1, self.opts.max_extract_attempts)
        if attempts >= cap:
            self._record(item, "failed", f"extraction gave up after {attempts} attempts: {error}")
            return
        self.attempts[item.feed_id][item.id] = attempts
        detail = f"{error} (attempt {attempts} of {cap}; retried on a later pass)"
        self._record(item, "failed", detail, transient=True)

    def _accept(self, item: FeedItem, article: Article, known: set[str]) -> None:
        if self._duplicate_of_index(item, article.id, known):
            return
        self.article_of[item.id] = article.id
        self.batch.depends_on[item.feed_id].add(article.id)
        if article.id in self.taken:
            self._record(
                item, "duplicate", f"same canonical URL as an entry of feed {self.taken[article.id]}"
            )
            return
        self.taken[article.id] = item.feed_id
        self.batch.articles.append(article)
        self.batch.pending.append(PendingEntry(item.feed_id, item.id, item.link, article.id))

    def _page_input(self, item: FeedItem, result: FetchResult) -> PageInput:
        html, _ = decode_html(result.body, result.charset)
        return PageInput(
            html=html,
            url=result.url,
            source=item.feed_id,
            fetched_at=self.now,
            feed_published_at=item.published_at,
            feed_title=item.title,
            min_chars=self.opts.min_chars,
        )
