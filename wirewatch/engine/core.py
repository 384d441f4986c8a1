"""The engine: stages joined by bounded queues, and the bookkeeping they share.

    feeds ─▶ [poll × C] ─▶ pages ─▶ [fetch × C] ─▶ extract ─▶ [extraction pool] ─▶ articles ─▶ [bulk writer]
                                        └── at most fetch_ahead pages fetched and not yet in a write ──┘
                                                                                                  │ flushed
               feed state ◀─ [committer] ◀─ feeds done ◀──────────────────────────────────────────┤
                                                  [matcher: alerts] ◀─ written ids ◀──────────────┤
                                                  [deliverer: outbox] ◀─ wake                      │
                                                  [NER] ◀─ written articles ◀─────────────────────┘

Every stage is a thread (the extraction pool and NER add processes) working as soon as its input is ready;
the queues are bounded, so a slow stage stops the ones before it instead of filling memory. Bookkeeping
(which entry of which feed is where, what each ended as, the summary) is done under one lock by the
methods here; the stages do their I/O and CPU work outside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ingest.feedwork import Claims, FeedWork
from ingest.state import FeedState
from wirewatch.engine.ahead import FetchAhead
from wirewatch.engine.gate import EsGate, Halted
from wirewatch.engine.hosts import HostSlots
from wirewatch.engine.jobs import ArticleJob, ExtractJob, PageJob
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.progress import Progress
from wirewatch.engine.queues import Stage
from wirewatch.engine.recent import RecentlyWritten
from wirewatch.steps import Step
from wirewatch.summary import PassSummary, failure_kind

if TYPE_CHECKING:
    from ingest.feedlist import FeedSpec
    from ingest.feeds import FeedPoll
    from wirewatch.runtime import PassTools, Runtime

log = logging.getLogger("wirewatch.engine")
T = TypeVar("T")


class Engine:
    """One engine: start it, ``submit`` feeds, then ``finish`` (a pass) or keep submitting (the service)."""

    def __init__(
        self,
        rt: Runtime,
        tools: PassTools,
        *,
        options: EngineOptions | None = None,
        summary: PassSummary | None = None,
        channels: dict[str, Any] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.rt, self.tools = rt, tools
        self.opts = options or EngineOptions.from_settings(rt.settings)
        self.summary = summary or PassSummary()
        self.channels = channels if channels is not None else {}
        self.now = now or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.halt = threading.Event()  # stop waiting: deadline passed, grace over, or a fatal error
        self.deadline: float | None = None  # time.monotonic() the pass ends (pass_deadline_s); None: the service
        self.gate = EsGate(self.halt, patience_s=self.opts.es_patience_s, max_backoff_s=self.opts.es_max_backoff_s)
        self.claims = Claims()
        self.progress = Progress()
        self.http_slots = threading.BoundedSemaphore(self.opts.http_connections)  # connections in total
        # taken before ``http_slots``: a feed or page whose host is full waits parked, not in a thread
        self.poll_hosts: HostSlots[FeedSpec] = HostSlots(self.opts.http_per_host)
        self.page_hosts: HostSlots[PageJob] = HostSlots(self.opts.http_per_host)
        self.ahead = FetchAhead(self.opts.fetch_ahead, slow_s=self.opts.fetch_slow_s, halt=self.halt)
        self.feeds: Stage[FeedSpec] = Stage(1_000_000, self.halt)  # specs are small; the list is in memory
        self.pages: Stage[PageJob] = Stage(self.opts.page_queue, self.halt)
        self.extracts: Stage[ExtractJob] = Stage(self.opts.extract_queue, self.halt)
        self.articles: Stage[ArticleJob] = Stage(self.opts.write_queue, self.halt)
        self.states: dict[str, FeedState] = {}  # the last known state of each feed (loaded, then committed)
        self.open: dict[str, FeedWork | None] = {}  # feed id -> its work (None: submitted, not polled yet)
        self.idle = threading.Condition(self.lock)  # notified whenever a feed finishes
        self.fatal_error: BaseException | None = None
        self.stage_busy: dict[str, float] = {}
        self._refresh_lock = threading.Lock()  # guards the two counters below
        self._refreshing = threading.Lock()  # one refresh at a time; a second caller then finds it done
        self._written = 0  # bulk writes of articles finished
        self.recent = RecentlyWritten()  # their story state until a refresh makes them searchable
        self._refreshed = 0  # writes made searchable by a refresh
        self._threads: list[threading.Thread] = []
        from wirewatch.engine.alerting import Alerter
        from wirewatch.engine.committing import Committer
        from wirewatch.engine.ner import NerStage

        self.committer = Committer(self)
        self.alerter = Alerter(self)
        self.ner = NerStage(self)
        from wirewatch.pipeline import feed_leases

        # One runner per feed: a feed is leased before it is polled and released once its state is committed
        # (the service, a CLI pass and the DAG's shards may run at once).
        self.leases = feed_leases(rt)
        self._renewing: Any = None

    # --- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        from wirewatch.engine.extracting import extract_loop
        from wirewatch.engine.fetching import fetch_loop, poll_loop
        from wirewatch.engine.writing import BulkWriter

        conns = self.opts.http_connections
        self._spawn("poll", lambda: poll_loop(self), conns)
        self._spawn("fetch", lambda: fetch_loop(self), conns)
        self._spawn("extract", lambda: extract_loop(self), 1)
        self._spawn("write", BulkWriter(self).run, 1)
        self._spawn("commit", self.committer.run, 1)
        self._spawn("match", self.alerter.match_loop, 1)
        self._spawn("deliver", self.alerter.deliver_loop, 1)
        if self.tools.tagger.ner:
            self._spawn("ner", self.ner.run, self.opts.ner_consumers)
        self._renewing = self.leases.renewing()  # renewed every third of their ttl; released when stopped
        self._renewing.__enter__()

    def _spawn(self, name: str, target: Callable[[], None], count: int) -> None:
        def guarded() -> None:
            try:
                target()
            except Halted:
                return
            except BaseException as exc:  # a bug in a stage must end the pass with a reason, never hang it
                log.exception("engine stage %s failed", name)
                self.fail_fatally(exc)

        for n in range(count):
            thread = threading.Thread(target=guarded, name=f"wirewatch-{name}-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def load_states(self, feed_ids: Sequence[str]) -> None:
        """Read the stored state of ``feed_ids`` (an outage is waited out)."""
        self.gate.call(lambda: self._read_states(feed_ids))

    def _read_states(self, feed_ids: Sequence[str]) -> bool:
        from ingest.state import load_states
        from search.feedstate import EsFeedStateStore

        loaded = load_states(EsFeedStateStore(self.rt.es, self.rt.names), list(feed_ids))
        with self.lock:
            self.states.update(loaded)
        return True

    def submit_all(self, specs: Sequence[FeedSpec], *, wait: bool = True, only_due: bool = True) -> list[FeedSpec]:
        """Lease ``specs`` and queue those this runner now holds; a feed another runner is polling is left to
        it and counted ``leased_elsewhere``. Returns the feeds queued. ``wait=False``: while Elasticsearch is
        unreachable nothing is leased or queued (the caller tries again later) instead of waiting.

        The state of a leased feed is read again under the lease: another runner may have polled it since
        this one last read it (its ETag, seen ids and next poll are the ones to go on from). ``only_due``:
        a feed that is no longer due then is given back and counted ``not_due``."""
        fresh = [s for s in specs if s.id not in self.open]
        if not fresh:
            return []
        ids = [s.id for s in fresh]
        report = self._call(lambda: self.leases.acquire(ids), wait)
        if report is None:
            return []
        if report.elsewhere:
            with self.lock:
                self.summary.feeds["leased_elsewhere"] += len(report.elsewhere)
        granted = set(report.granted)
        if granted and self._call(lambda: self._read_states(sorted(granted)), wait) is None:
            self.release_leases(sorted(granted))  # cannot know where the feeds stand: leave them for later
            return []
        if only_due:
            now = self.now()
            with self.lock:
                stale = {fid for fid in granted if fid in self.states and not self.states[fid].is_due(now)}
                if stale:  # a zero would add an empty row to every summary
                    self.summary.feeds["not_due"] += len(stale)
            self.release_leases(sorted(stale))
            granted -= stale
        return [spec for spec in fresh if spec.id in granted and self.submit(spec)]

    def _call(self, fn: Callable[[], T], wait: bool) -> T | None:
        """``fn`` through the gate: waiting out an outage, or (``wait=False``) None at once during one."""
        return self.gate.call(fn) if wait else self.gate.try_call(fn)

    def release_leases(self, feed_ids: Sequence[str]) -> None:
        """Give back the leases of committed feeds (a failure only delays another runner until they lapse)."""
        if feed_ids:
            self.leases.release_quietly(list(feed_ids))

    def submit(self, spec: FeedSpec) -> bool:
        """Queue ``spec`` for polling; False when it is already in flight (the service never polls it twice)."""
        with self.lock:
            if spec.id in self.open:
                return False
            self.open[spec.id] = None
            self.progress.feeds_due += 1
            self.progress.in_flight_feeds = len(self.open)
        self.feeds.put(spec)
        return True

    def close_input(self) -> None:
        self.feeds.close()

    def wait_idle(
        self,
        deadline: float | None,
        on_tick: Callable[[], None] | None = None,
        stop: threading.Event | None = None,
    ) -> bool:
        """Wait until every submitted feed finished (True), or the monotonic ``deadline`` passed or ``stop``
        was set (False)."""
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
        """Halt the ingest stages and give up on every unfinished feed: its state is not committed."""
        self.halt.set()
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

    def stop_threads(self, timeout: float = 5.0) -> None:
        self.halt.set()
        for stage in (self.feeds, self.pages, self.extracts, self.articles):
            stage.close()
        end = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        if self._renewing is not None:
            self._renewing.__exit__(None, None, None)  # releases what is still held (abandoned feeds too)
            self._renewing = None

    def fail_fatally(self, exc: BaseException) -> None:
        with self.lock:
            if self.fatal_error is None:
                self.fatal_error = exc
            self.idle.notify_all()

    # --- bookkeeping (stages call these; each takes the lock) ------------------------------------------------
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
                self.summary.feed_failures[failure_kind(poll.http_status, poll.error)] += 1
            candidates = work.triage(self.claims, self.opts.max_entries)
            self._report(work, Step.POLL)
            return work, candidates

    def feed_crashed(self, spec: FeedSpec, exc: BaseException) -> None:
        """A feed whose poll (or the bookkeeping after it) raised something unexpected: a named failure,
        and the pass goes on. Before its poll was recorded, its state backs off like any failed poll;
        after, its open entries fail transiently and its state does not move (it is tried again)."""
        from ingest.state import Backoff, failed

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
            self.summary.feed_failures["crashed"] += 1
            self.progress.feeds_polled += 1
            backoff = Backoff(interval_s=spec.interval_s, max_backoff_s=self.opts.max_backoff_s)
            state = failed(previous, now=self.now(), error=reason, backoff=backoff)
        self.committer.enqueue(spec.id, state, None)

    def update(self, work: FeedWork, stage: Step, change: Callable[[], Any]) -> Any:
        """Apply ``change`` to ``work`` under the lock, record the outcomes it produced, finish the feed if done."""
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
            self.committer.enqueue(work.feed_id, self._state_of_finished(work), work)

    def _state_of_finished(self, work: FeedWork) -> FeedState | None:
        """Its new state; for a feed whose articles were not all written (a failed bulk item), its old cursor
        with the failure recorded and a backoff, so it is neither lost nor polled again at once."""
        from ingest.state import Backoff

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

    # --- one refresh per write, made by the matcher (which must search the batch); the writer's story lookup
    # reads the writes no finished refresh covers yet from ``self.recent`` instead of waiting for one ---------
    def wrote_articles(self) -> int:
        """A bulk write of articles finished: the next ``refresh_articles`` refreshes. Returns its number."""
        with self._refresh_lock:
            self._written += 1
            return self._written

    def refresh_articles(self) -> None:
        """Make every finished write searchable, unless a refresh since the last write already did."""
        with self._refreshing:
            with self._refresh_lock:
                target = self._written
                if self._refreshed >= target:
                    return
            rt = self.rt
            self.gate.call(lambda: rt.es.indices.refresh(index=rt.names.articles))
            with self._refresh_lock:
                self._refreshed = max(self._refreshed, target)
            self.recent.searchable_up_to(target)

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def busy(self, stage: str, seconds: float) -> None:
        with self.lock:
            self.stage_busy[stage] = self.stage_busy.get(stage, 0.0) + seconds

    def snapshot(self) -> Progress:
        with self.lock:
            self.progress.es_down_since = self.gate.down_since
            self.progress.es_error = self.gate.last_error
            self.progress.ner_backlog = self.ner.backlog
            self.progress.match_refused, self.progress.match_left = self.alerter.held_back()
            self.progress.unsearchable = len(self.recent)
            return self.progress.copy()
