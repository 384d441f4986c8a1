"""One feed's work in a pass, entry by entry: the per-feed pieces the streaming engine drives.

A ``FeedWork`` starts from the feed's poll and is told, as they happen, what became of each entry: its page
failed to fetch, it was extracted (or skipped, or failed), its article was written or refused. It keeps the
entries' named outcomes (design.md invariant 6), the entries to try again, the extraction attempts, and the
articles the feed waits for; once nothing is open it gives the state to commit (invariant 2).

``Claims`` is what several feeds of one pass share: which feed took an entry link or an article id first,
so the same article is fetched and written once and the other feeds wait for that write before they move on.
Both are plain objects; a threaded caller serialises calls to them (the engine holds one lock around them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from ingest.charset import decode_html
from ingest.extract import Article, PageInput
from ingest.feeds import FeedItem, FeedPoll, settle
from ingest.fetch import FetchResult
from ingest.outcomes import EntryOutcome, OutcomeState
from ingest.pool import PageOutcome
from ingest.state import Backoff, FeedState, failed


@dataclass
class Claims:
    """Which feed took each entry id (link) and each article id (canonical URL) first, while open."""

    links: dict[str, FeedWork] = field(default_factory=dict)  # entry id -> feed fetching it
    articles: dict[str, FeedWork] = field(default_factory=dict)  # article id -> feed writing it
    article_of: dict[str, str] = field(default_factory=dict)  # claimed entry id -> its article id
    waiting: dict[str, list[FeedWork]] = field(default_factory=dict)  # entry id -> twins waiting on it
    waiters: dict[str, list[FeedWork]] = field(default_factory=dict)  # article id -> feeds waiting on it
    touched: list[FeedWork] = field(default_factory=list)  # feeds a settlement changed (the caller drains it)

    def release_entry(self, entry_id: str, settled: bool | None = None) -> None:
        """The entry reached its final state: later feeds listing it are checked against the index instead.

        ``settled`` is whether its article is durable or refused (None: not known yet, or no article)."""
        self.links.pop(entry_id, None)
        article_id = self.article_of.pop(entry_id, None)
        for twin in self.waiting.pop(entry_id, []):
            twin.twin_resolved(self, entry_id, article_id, settled)
            self.touched.append(twin)

    def wait_for(self, feed: FeedWork, article_id: str) -> None:
        feed.waits_on.add(article_id)
        self.waiters.setdefault(article_id, []).append(feed)

    def settle_article(self, article_id: str, settled: bool, reason: str = "") -> None:
        """Tell every feed waiting on ``article_id`` that its write is over (``settled``: durable or refused;
        else ``reason`` says why it failed)."""
        self.articles.pop(article_id, None)
        for feed in self.waiters.pop(article_id, []):
            feed.article_settled(article_id, settled=settled, reason=reason)
            self.touched.append(feed)


@dataclass
class FeedWork:
    """What one polled feed still waits for, and the outcomes of its entries so far."""

    poll: FeedPoll
    max_extract_attempts: int = 3
    outcomes: list[EntryOutcome] = field(default_factory=list)
    unfinished: set[str] = field(default_factory=set)  # entry ids tried again on a later pass
    attempts: dict[str, int] = field(default_factory=dict)  # this pass's transient extraction failures
    open_entries: dict[str, FeedItem] = field(default_factory=dict)  # entry id -> entry not yet final
    writing: dict[str, list[FeedItem]] = field(default_factory=dict)  # article id -> own entries waiting
    waits_on: set[str] = field(default_factory=set)  # article ids (own or another feed's) to be settled
    open_twins: set[str] = field(default_factory=set)  # entry ids another feed is fetching for us
    blocked: str | None = None  # why the state may not be committed (an article it needs was not written)
    reported: int = 0  # outcomes the caller has already counted
    finishing: bool = False  # handed to the caller's commit step

    @property
    def feed_id(self) -> str:
        return self.poll.spec.id

    @property
    def offered(self) -> int:
        return len(self.poll.items) + len(self.poll.deferred)

    @property
    def done(self) -> bool:
        return not self.open_entries and not self.waits_on and not self.open_twins

    # --- triage ---------------------------------------------------------------------------------------
    def triage(self, claims: Claims, max_entries: int) -> list[FeedItem]:
        """Entries that need fetching (claimed for this feed); the others get their final state now."""
        previous = self.poll.previous_state
        candidates: list[FeedItem] = []
        for item in self.poll.items:
            if item.skip_rule:
                self.record(item, "skipped", item.skip_rule)
            elif item.rejection:
                self.record(item, "failed", item.rejection)
            elif item.id in previous.seen_ids:
                self.record(item, "not_modified", "taken on an earlier pass of this feed")
            elif item.id in claims.links:
                owner = claims.links[item.id]
                self.record(item, "duplicate", f"same link as an entry of feed {owner.feed_id}")
                self.open_twins.add(item.id)
                claims.waiting.setdefault(item.id, []).append(self)
            else:
                claims.links[item.id] = self
                self.open_entries[item.id] = item
                candidates.append(item)
        for item in self.poll.deferred:
            self.record(item, "skipped", f"max_entries_per_pass ({max_entries})")
            self.unfinished.add(item.id)
        return candidates

    def twin_resolved(self, claims: Claims, entry_id: str, article_id: str | None, settled: bool | None) -> None:
        """The feed that fetched our twin entry settled it; its article (if any) must be written for us."""
        self.open_twins.discard(entry_id)
        if article_id is None:
            return
        if settled is None:
            claims.wait_for(self, article_id)
        elif not settled:
            self.blocked = f"article {article_id} was not written"

    # --- entry outcomes ------------------------------------------------------------------------------------
    def record(
        self, item: FeedItem, state: OutcomeState, detail: str | None = None, transient: bool = False
    ) -> EntryOutcome:
        outcome = EntryOutcome(
            feed_id=item.feed_id, entry_id=item.id, url=item.link, state=state, detail=detail, transient=transient
        )
        self.outcomes.append(outcome)
        if transient:
            self.unfinished.add(item.id)
        return outcome

    def close_entry(self, claims: Claims, item: FeedItem, state: OutcomeState, detail: str | None = None,
                    transient: bool = False) -> EntryOutcome | None:  # fmt: skip
        """Give an open entry its final state and release its claim (an entry already closed, e.g. by
        ``abandon``, stays as it was: late news from a stage the pass gave up on changes nothing)."""
        if self.open_entries.pop(item.id, None) is None:
            return None
        outcome = self.record(item, state, detail, transient)
        claims.release_entry(item.id)
        return outcome

    def extracted(self, claims: Claims, item: FeedItem, outcome: PageOutcome) -> Article | None:
        """The article to accept, or None when the page settled here (too short, failed)."""
        if outcome.article is not None:
            return outcome.article
        if outcome.skipped:
            self.close_entry(claims, item, "skipped", f"too_short: {outcome.skipped}")
        elif outcome.error and outcome.transient:
            self._extraction_failed_transiently(claims, item, outcome.error)
        else:
            self.close_entry(claims, item, "failed", outcome.error or "extraction failed")
        return None

    def _extraction_failed_transiently(self, claims: Claims, item: FeedItem, error: str) -> None:
        """Retry on a later pass (the entry stays out of seen ids) until the cap, then fail for good."""
        attempts = self.poll.previous_state.extraction_attempts.get(item.id, 0) + 1
        cap = max(1, self.max_extract_attempts)
        if attempts >= cap:
            self.close_entry(claims, item, "failed", f"extraction gave up after {attempts} attempts: {error}")
            return
        self.attempts[item.id] = attempts
        detail = f"{error} (attempt {attempts} of {cap}; retried on a later pass)"
        self.close_entry(claims, item, "failed", detail, transient=True)

    def accept(self, claims: Claims, item: FeedItem, article: Article, already_indexed: bool) -> bool:
        """True when this feed writes ``article``; else the entry settled as a duplicate here."""
        if already_indexed:
            self.close_entry(claims, item, "duplicate", "already indexed")
            return False
        claims.article_of[item.id] = article.id
        owner = claims.articles.get(article.id)
        if owner is not None:
            # another feed writes this article: our entry is a duplicate, and we wait for that write
            claims.wait_for(self, article.id)
            self.close_entry(claims, item, "duplicate", f"same canonical URL as an entry of feed {owner.feed_id}")
            return False
        claims.articles[article.id] = self
        claims.wait_for(self, article.id)
        self.writing.setdefault(article.id, []).append(item)
        return True

    def written(self, claims: Claims, article_id: str, *, durable: bool, refused: bool, reason: str = "") -> list[
            EntryOutcome]:  # fmt: skip
        """This feed's article was written (``durable``), refused for good, or failed transiently."""
        claims.settle_article(article_id, durable or refused, reason)
        out: list[EntryOutcome] = []
        for item in self.writing.pop(article_id, []):
            self.open_entries.pop(item.id, None)
            if durable:
                out.append(self.record(item, "indexed"))
            elif refused:
                out.append(self.record(item, "failed", f"index refused the article: {reason}"))
            else:
                out.append(self.record(item, "failed", f"index write failed: {reason}", transient=True))
            claims.release_entry(item.id, durable or refused)
        return out

    def article_settled(self, article_id: str, *, settled: bool, reason: str = "") -> None:
        """An article this feed waits for is durable or refused (``settled``), or failed transiently."""
        self.waits_on.discard(article_id)
        if not settled:
            self.blocked = f"article {article_id} was not written" + (f" ({reason})" if reason else "")

    def abandon(self, claims: Claims, reason: str) -> list[EntryOutcome]:
        """Give every open entry a transient failure (the pass is giving up on this feed); nothing commits."""
        self.blocked = reason
        out: list[EntryOutcome] = []
        for article_id in list(self.writing):
            self.writing.pop(article_id)
            claims.settle_article(article_id, False)
        for item in list(self.open_entries.values()):
            outcome = self.close_entry(claims, item, "failed", reason, transient=True)
            if outcome is not None:
                out.append(outcome)
        self.waits_on.clear()
        self.open_twins.clear()
        return out

    # --- the state to commit --------------------------------------------------------------------------------
    def state_to_commit(self) -> FeedState | None:
        """The state to save now that the feed is done, or None when it must not move (see ``blocked``)."""
        if self.blocked is not None or not self.done:
            return None
        return self.proposed_state()

    def held_back_state(self, *, now: datetime, backoff: Backoff) -> FeedState | None:
        """The state to save when the feed is done but ``blocked``: the cursor stays where it was (validators,
        seen ids: invariant 2), the failure is recorded and the next poll backs off like any failed poll's
        (else the feed would be due again at once, and polled and fetched in a loop). None: not blocked."""
        if self.blocked is None or not self.done:
            return None
        error = f"not committed, polled again after a backoff: {self.blocked}"
        return failed(self.poll.previous_state, now=now, error=error, backoff=backoff)

    def proposed_state(self) -> FeedState:
        """The state the feed moves to once its open entries and articles are settled as they stand."""
        state = settle(self.poll, self.unfinished)
        if self.poll.status != "ok":
            return state  # no entries were looked at: the earlier attempt counts stand
        earlier = self.poll.previous_state.extraction_attempts
        kept = {entry_id: n for entry_id, n in earlier.items() if entry_id in self.unfinished}
        kept.update(self.attempts)
        return replace(state, extraction_attempts=kept)


def page_input(item: FeedItem, result: FetchResult, *, fetched_at: datetime, min_chars: int) -> PageInput:
    """What the extraction pool needs for an entry's fetched page (decoded from its bytes)."""
    html, _ = decode_html(result.body, result.charset)
    return PageInput(
        html=html,
        url=result.url,
        source=item.feed_id,
        fetched_at=fetched_at,
        feed_published_at=item.published_at,
        feed_date_set_aside=item.date_set_aside,
        feed_title=item.title,
        min_chars=min_chars,
    )
