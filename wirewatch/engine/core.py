"""The engine: stages joined by bounded queues, and the bookkeeping they share.

    feeds ─▶ [poll × C] ─▶ pages ─▶ [fetch × C] ─▶ extract ─▶ [extraction pool] ─▶ articles ─▶ [bulk writer]
                                        └── at most fetch_ahead pages fetched and not yet in a write ──┘
                                                                                                  │ flushed
               feed state ◀─ [committer] ◀─ feeds done ◀──────────────────────────────────────────┤
                                                  [matcher: alerts] ◀─ written ids ◀──────────────┤
                                                  [deliverer: outbox] ◀─ wake                      │
                                                  [NER] ◀─ written articles ◀─────────────────────┘

Every stage is an object built with its input queue, its output queue(s) and the few collaborators it needs
(the Elasticsearch gate, the feed ledger, the options it reads), and runs as threads (the extraction pool and
NER add processes) working as soon as its input is ready; no stage knows the engine. The queues are bounded,
so a slow stage stops the ones before it instead of filling memory. Bookkeeping (which entry of which feed is
where, what each ended as, the summary) is the ledger's (``engine/ledger.py``), under one lock; the stages do
their I/O and CPU work outside it. ``Engine`` only builds the stages, wires them and starts them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ingest.feedlist import FeedSpec
from ingest.state import is_due, load_states
from search.feedstate import EsFeedStateStore
from search.known import existing_ids
from wirewatch.engine.ahead import FetchAhead
from wirewatch.engine.committing import Committer
from wirewatch.engine.delivering import Deliverer
from wirewatch.engine.extracting import Extractor
from wirewatch.engine.fetching import PageFetcher, Poller
from wirewatch.engine.gate import EsGate, Halted
from wirewatch.engine.jobs import ArticleJob, ExtractJob, PageJob
from wirewatch.engine.ledger import FeedLedger, Finished
from wirewatch.engine.matching import Matcher
from wirewatch.engine.ner import NerStage
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.progress import Progress
from wirewatch.engine.queues import Stage
from wirewatch.engine.recent import Refresher
from wirewatch.engine.writing import BulkWriter
from wirewatch.spikes import raise_spikes
from wirewatch.summary import PassSummary

if TYPE_CHECKING:
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
        opts = self.opts = options or EngineOptions.from_settings(rt.settings)
        self.now = now or (lambda: datetime.now(UTC))
        es, names = rt.es, rt.names
        self.halt = threading.Event()  # stop waiting: deadline passed, grace over, or a fatal error
        self.gate = EsGate(self.halt, patience_s=opts.es_patience_s, max_backoff_s=opts.es_max_backoff_s)
        # the queues between the stages
        self.feeds: Stage[FeedSpec] = Stage(1_000_000, self.halt)  # specs are small; the list is in memory
        self.pages: Stage[PageJob] = Stage(opts.page_queue, self.halt)
        self.extracts: Stage[ExtractJob] = Stage(opts.extract_queue, self.halt)
        self.articles: Stage[ArticleJob] = Stage(opts.write_queue, self.halt)
        to_commit: queue.Queue[Finished] = queue.Queue()
        wake = threading.Event()  # new alerts: the deliverer looks at the outbox
        # what the stages share
        self.ledger = ledger = FeedLedger(to_commit, opts=opts, summary=summary or PassSummary(), halt=self.halt,
                                          now=self.now)  # fmt: skip
        self.refresher = Refresher(es, names, self.gate)
        self.ahead = FetchAhead(opts.fetch_ahead, slow_s=opts.fetch_slow_s, halt=self.halt)
        connections = threading.BoundedSemaphore(opts.http_connections)  # polls and pages together
        # One runner per feed: a feed is leased before it is polled and released once its state is committed
        # (the service, a CLI pass and the DAG's shards may run at once).
        self.leases = rt.feed_leases()
        self._renewing: Any = None
        # the stages
        fetcher, gate = tools.fetcher, self.gate
        known = partial(existing_ids, es, names)
        self.poller = Poller(self.feeds, self.pages, ledger=ledger, gate=gate, known_ids=known, fetcher=fetcher,
                             connections=connections, opts=opts, now=self.now)  # fmt: skip
        self.fetcher = PageFetcher(self.pages, self.extracts, ledger=ledger, ahead=self.ahead, fetcher=fetcher,
                                   connections=connections, opts=opts, now=self.now)  # fmt: skip
        self.extractor = Extractor(self.extracts, self.articles, ledger=ledger, pool=tools.pool)
        self.ner = NerStage(tagger=tools.tagger, ledger=ledger, gate=gate, es=es, names=names, opts=opts, wake=wake)
        self.matcher = Matcher(ledger=ledger, gate=gate, es=es, names=names, refresher=self.refresher,
                               spikes=partial(raise_spikes, rt), wake=wake, opts=opts, now=self.now)  # fmt: skip
        self.deliverer = Deliverer(rt, channels if channels is not None else {}, wake=wake, ledger=ledger, gate=gate,
                                   opts=opts)  # fmt: skip
        self.writer = BulkWriter(self.articles, to_match=self.matcher.enqueue, to_ner=self.ner.offer, ledger=ledger,
                                 gate=gate, es=es, names=names, tagger=tools.tagger, ahead=self.ahead,
                                 refresher=self.refresher, opts=opts)  # fmt: skip
        self.committer = Committer(to_commit, ledger=ledger, gate=gate, store=EsFeedStateStore(es, names),
                                   leases=self.leases)  # fmt: skip
        self._threads: list[threading.Thread] = []

    @property
    def summary(self) -> PassSummary:
        return self.ledger.summary

    # --- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        conns = self.opts.http_connections
        self._spawn("poll", self.poller.run, conns)
        self._spawn("fetch", self.fetcher.run, conns)
        self._spawn("extract", self.extractor.run, 1)
        self._spawn("write", self.writer.run, 1)
        self._spawn("commit", self.committer.run, 1)
        self._spawn("match", self.matcher.match_loop, 1)
        self._spawn("deliver", self.deliverer.deliver_loop, 1)
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
                self.ledger.fail_fatally(exc)

        for n in range(count):
            thread = threading.Thread(target=guarded, name=f"wirewatch-{name}-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def load_states(self, feed_ids: Sequence[str]) -> None:
        """Read the stored state of ``feed_ids`` (an outage is waited out)."""
        self.gate.call(lambda: self._read_states(feed_ids))

    def _read_states(self, feed_ids: Sequence[str]) -> bool:
        self.ledger.remember(load_states(self.committer.store, list(feed_ids)))
        return True

    def submit_all(self, specs: Sequence[FeedSpec], *, wait: bool = True, only_due: bool = True) -> list[FeedSpec]:
        """Lease ``specs`` and queue those this runner now holds; a feed another runner is polling is left to
        it and counted ``leased_elsewhere``. Returns the feeds queued. ``wait=False``: while Elasticsearch is
        unreachable nothing is leased or queued (the caller tries again later) instead of waiting.

        The state of a leased feed is read again under the lease: another runner may have polled it since
        this one last read it (its ETag, seen ids and next poll are the ones to go on from). ``only_due``:
        a feed that is no longer due then is given back and counted ``not_due``."""
        ledger = self.ledger
        with ledger.lock:
            fresh = [s for s in specs if s.id not in ledger.open]
        if not fresh:
            return []
        ids = [s.id for s in fresh]
        report = self._call(lambda: self.leases.acquire(ids), wait)
        if report is None:
            return []
        if report.elsewhere:
            with ledger.lock:
                ledger.summary.feeds["leased_elsewhere"] += len(report.elsewhere)
        granted = set(report.granted)
        if granted and self._call(lambda: self._read_states(sorted(granted)), wait) is None:
            self.release_leases(sorted(granted))  # cannot know where the feeds stand: leave them for later
            return []
        if only_due:
            now = self.now()
            with ledger.lock:
                stale = {fid for fid in granted if not is_due(ledger.states.get(fid), now)}
                if stale:  # a zero would add an empty row to every summary
                    ledger.summary.feeds["not_due"] += len(stale)
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
        if not self.ledger.open_feed(spec.id):
            return False
        self.feeds.put(spec)
        return True

    def close_input(self) -> None:
        self.feeds.close()

    def snapshot(self) -> Progress:
        with self.ledger.lock:
            progress = self.ledger.progress
            progress.es_down_since = self.gate.down_since
            progress.es_error = self.gate.last_error
            progress.ner_backlog = self.ner.backlog
            progress.match_refused, progress.match_left = self.matcher.held_back()
            progress.unsearchable = len(self.refresher.recent)
            return progress.copy()

    def wait_idle(
        self, deadline: float | None, on_tick: Callable[[], None] | None = None, stop: threading.Event | None = None
    ) -> bool:
        """Wait until every submitted feed finished (True), or the monotonic ``deadline`` passed or ``stop``
        was set (False)."""
        return self.ledger.wait_idle(deadline, on_tick, stop)

    def abandon_open(self, reason: str) -> list[str]:
        """Halt the ingest stages and give up on every unfinished feed: its state is not committed."""
        self.halt.set()
        return self.ledger.abandon_open(reason)

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

    def threads(self, stage: str) -> list[threading.Thread]:
        """The threads of ``stage`` (its name in ``start``)."""
        return [t for t in self._threads if t.name.startswith(f"wirewatch-{stage}-")]
