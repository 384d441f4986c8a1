"""The feed ledger: which feed is in flight, where each of its entries is, what each ended as, the summary.

Every stage records its news here (under one lock) and does its I/O and CPU work outside it. A feed whose
entries are all settled goes out on ``to_commit``, the committer's input (design invariant 2: its state is
saved only once its articles are durable).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ingest.feedwork import Claims, FeedWork
from ingest.state import Backoff, FeedState, failed
from wirewatch.engine.progress import Progress
from wirewatch.steps import Step
from wirewatch.summary import PassSummary

if TYPE_CHECKING:
    from ingest.feedlist import FeedSpec
    from ingest.feeds import FeedPoll
    from wirewatch.engine.options import EngineOptions

log = logging.getLogger("wirewatch.engine")
# (feed id, its state to save or None, its work or None): what the ledger hands the committer
Finished = tuple[str, "FeedState | None", "FeedWork | None"]


class FeedLedger:
    def __init__(
        self,
        to_commit: queue.Queue[Finished],
        *,
        opts: EngineOptions,
        summary: PassSummary,
        halt: threading.Event,
        now: Callable[[], datetime],
    ) -> None:
        self.to_commit, self.opts, self.summary, self.halt, self.now = to_commit, opts, summary, halt, now
        self.lock = threading.RLock()
        self.claims = Claims()
        self.progress = Progress()
        self.states: dict[str, FeedState] = {}  # the last known state of each feed (loaded, then committed)
        self.open: dict[str, FeedWork | None] = {}  # feed id -> its work (None: submitted, not polled yet)
        self.idle = threading.Condition(self.lock)  # notified whenever a feed finishes
        self.fatal_error: BaseException | None = None
        self.stage_busy: dict[str, float] = {}
        self.deadline: float | None = None  # time.monotonic() the pass ends (pass_deadline_s); None: the service

    # --- feeds in and out -----------------------------------------------------------------------------------
    def state_of(self, feed_id: str) -> FeedState:
        with self.lock:
            return self.states.get(feed_id) or FeedState(feed_id=feed_id)

    def remember(self, states: dict[str, FeedState]) -> None:
        with self.lock:
            self.states.update(states)

    def open_feed(self, feed_id: str) -> bool:
        """Count ``feed_id`` in flight; False when it already is (the service never polls a feed twice)."""
        with self.lock:
            if feed_id in self.open:
                return False
            self.open[feed_id] = None
            self.progress.feeds_due += 1
            self.progress.in_flight_feeds = len(self.open)
            return True

    def wait_idle(
        self, deadline: float | None, on_tick: Callable[[], None] | None = None, stop: threading.Event | None = None
    ) -> bool:
        """Wait until every open feed finished (True), or the monotonic ``deadline`` passed or ``stop`` was
        set (False)."""
        with self.idle:
            while self.open and self.fatal_error is None:
                left = None if deadline is None else deadline - time.monotonic()
                if (left is not None and left <= 0) or (stop is not None and stop.is_set()):
                    return False
                self.idle.wait(timeout=0.5 if left is None else min(0.5, left))
                if on_tick is not None:
                    on_tick()
        return self.fatal_error is None

    def abandon_open(self, reason: str) -> list[str]:
        """Give up on every unfinished feed: its state is not committed."""
        with self.lock:
            abandoned = sorted(self.open)
            for feed_id in abandoned:
                work = self.open.pop(feed_id)
                if work is not None:
                    work.abandon(self.claims, reason)
                    self._report(work, Step.POLL)
                self.summary.fail(Step.POLL, feed_id, reason, transient=True)
            self.summary.abandoned.extend(abandoned)
            self.progress.in_flight_feeds = 0
            self.idle.notify_all()
        return abandoned

    def fail_fatally(self, exc: BaseException) -> None:
        with self.lock:
            if self.fatal_error is None:
                self.fatal_error = exc
            self.idle.notify_all()

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def busy(self, stage: str, seconds: float) -> None:
        with self.lock:
            self.stage_busy[stage] = self.stage_busy.get(stage, 0.0) + seconds

    def advance(self, counter: str, by: int = 1) -> None:
        """Add ``by`` to the live counter ``counter`` (a ``Progress`` field)."""
        with self.lock:
            setattr(self.progress, counter, getattr(self.progress, counter) + by)

    def fail(self, step: Step, what: str, reason: str, *, transient: bool = False) -> None:
        """Record a named failure in the summary."""
        with self.lock:
            self.summary.fail(step, what, reason, transient=transient)

    def merge(self, part: PassSummary) -> None:
        """Add what a step counted in a summary of its own."""
        with self.lock:
            self.summary.merge(part)

    # --- entries (stages call these; each takes the lock) -------------------------------------------------
    def polled(self, poll: FeedPoll) -> tuple[FeedWork, list[Any]]:
        """Record a poll; returns its work and the entries to fetch (claimed for this feed)."""
        with self.lock:
            work = FeedWork(poll, max_extract_attempts=self.opts.max_extract_attempts)
            if self.halt.is_set() or poll.spec.id not in self.open:
                return work, []
            self.open[poll.spec.id] = work
            self.summary.feeds[poll.status] += 1
            self.summary.offered += work.offered
            self.progress.feeds_polled += 1
            if poll.status == "failed":
                self.summary.fail(Step.POLL, poll.spec.id, poll.error or "failed", transient=not poll.permanent)
            candidates = work.triage(self.claims, self.opts.max_entries)
            self._report(work, Step.POLL)
            return work, candidates

    def feed_crashed(self, spec: FeedSpec, exc: BaseException) -> None:
        """A feed whose poll (or the bookkeeping after it) raised something unexpected: a named failure,
        and the pass goes on. Before its poll was recorded, its state backs off like any failed poll;
        after, its open entries fail transiently and its state does not move (it is tried again)."""
        reason = f"crashed while polling: {type(exc).__name__}: {exc}"
        log.warning("feed %s: %s", spec.id, reason)
        with self.lock:
            if spec.id not in self.open:
                return
            work = self.open[spec.id]
            self.summary.fail(Step.POLL, spec.id, reason, transient=True)
            if work is not None:
                work.abandon(self.claims, reason)
                self._report(work, Step.POLL)
                self.open.pop(spec.id, None)
                self.progress.in_flight_feeds = len(self.open)
                self.idle.notify_all()
                return
            previous = self.states.get(spec.id) or FeedState(feed_id=spec.id)
            self.summary.feeds["failed"] += 1
            self.progress.feeds_polled += 1
            backoff = Backoff(interval_s=spec.interval_s, max_backoff_s=self.opts.max_backoff_s)
            state = failed(previous, now=self.now(), error=reason, backoff=backoff)
        self.to_commit.put((spec.id, state, None))

    def update(self, work: FeedWork, stage: Step, change: Callable[[], Any]) -> Any:
        """Apply ``change`` to ``work`` under the lock, record the outcomes it produced."""
        with self.lock:
            if self.open.get(work.feed_id) is not work:
                return None  # abandoned meanwhile: late news changes nothing
            result = change()
            self._report(work, stage)
            return result

    def check_done(self, works: Sequence[FeedWork]) -> None:
        """Hand every finished feed among ``works`` (and feeds waiting on them) to the committer."""
        with self.lock:
            candidates = [*works, *self.claims.touched]
            self.claims.touched.clear()
            finished = []
            for work in candidates:
                if self.open.get(work.feed_id) is work and work.done and not work.finishing:
                    work.finishing = True
                    self._report(work, Step.INDEX)
                    finished.append(work)
        for work in finished:
            self.to_commit.put((work.feed_id, self._state_of_finished(work), work))

    def _state_of_finished(self, work: FeedWork) -> FeedState | None:
        """Its new state; for a feed whose articles were not all written (a failed bulk item), its old cursor
        with the failure recorded and a backoff, so it is neither lost nor polled again at once."""
        state = work.state_to_commit()
        if state is not None:
            return state
        backoff = Backoff(interval_s=work.poll.spec.interval_s, max_backoff_s=self.opts.max_backoff_s)
        return work.held_back_state(now=self.now(), backoff=backoff)

    def lease_lost(self, feed_id: str, reason: str) -> None:
        with self.lock:
            self.summary.fail(Step.COMMIT, feed_id, reason, transient=True)

    def committed(self, feed_id: str, state: FeedState | None, work: FeedWork | None) -> None:
        with self.lock:
            if state is not None:
                self.states[feed_id] = state
                self.progress.feeds_committed += 1
            if work is None or self.open.get(feed_id) is work:
                self.open.pop(feed_id, None)
            self.progress.in_flight_feeds = len(self.open)
            self.idle.notify_all()

    def _report(self, work: FeedWork, stage: Step) -> None:
        """Count the outcomes ``work`` produced since the last report (invariant 6)."""
        for outcome in work.outcomes[work.reported :]:
            self.summary.entries[outcome.state] += 1
            if outcome.state == "skipped":
                self.summary.skipped_rules[(outcome.detail or "skipped").split(":")[0]] += 1
            elif outcome.state == "failed":
                self.summary.fail(stage, outcome.url, outcome.detail or "failed", transient=outcome.transient)
            elif outcome.state == "indexed":
                self.progress.indexed += 1
        work.reported = len(work.outcomes)
