"""NER beside the other stages: a consumer of the articles just written, its workers busy while fetching
and extraction go on, writing entities in micro-batches.

Its queue is bounded and never blocks the writer: when NER falls behind (it is most of the CPU), the
articles it had no room for stay ``ner_done: false`` in the index and are read back from there
(``search.reuse.articles_waiting_for_entities``) once the queue has room, as are any a crash or a runner with
NER off left: the index is read at the start and every REFILL_EVERY_S while the queue is empty, and
``backlog`` counts what waits there. Several
consumers share the queue, so the NER processes never wait while one consumer writes its entities. Group alerts
never wait for it. A copy whose text was tagged before takes its entities (``wirewatch.reuse``): NER runs once
per distinct text, with the model of the article's language.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import TYPE_CHECKING, Any

from search.bulk import update_entities
from search.reuse import Pending, articles_waiting_for_entities, count_waiting_for_entities
from wirewatch.engine.gate import EsGate, Halted
from wirewatch.engine.ledger import FeedLedger
from wirewatch.engine.options import EngineOptions
from wirewatch.eventalerts import alert_on_events, count_event_alerts
from wirewatch.reuse import entity_updates, settle_story_alerts
from wirewatch.steps import Step

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from enrich.tagger import Tagger
    from search.names import IndexNames


REFILL_EVERY_S = 30.0  # an idle NER stage reads the index's backlog this often (articles indexed with NER off)
FAILED_RETRY_S = 600.0  # an article NER failed on is not read back from the index before this
MAX_FAILED = 1_000  # failed articles remembered at most (the oldest are forgotten, so read back sooner)


class NerStage:
    """``consumers`` threads (the engine runs one more than there are NER processes, so a worker always has a
    batch queued while another consumer writes its entities) take ``ner_batch`` articles each: one task per
    NER process, small enough that the last batches of a pass end together.

    Reading the index's backlog leaves out only what is queued or being tagged here and the articles that
    failed lately: a bounded list, whatever the size of the backlog."""

    def __init__(
        self,
        *,
        tagger: Tagger,
        ledger: FeedLedger,
        gate: EsGate,
        es: Elasticsearch,
        names: IndexNames,
        opts: EngineOptions,
        wake: threading.Event | None = None,
    ) -> None:
        self.tagger, self.ledger, self.gate, self.es, self.names, self.opts = tagger, ledger, gate, es, names, opts
        self.wake = wake  # set when event watches raised alerts: the deliverer looks at the outbox
        self._cond = threading.Condition()
        self._todo: collections.deque[Pending] = collections.deque()
        self._queued: set[str] = set()  # the ids in _todo
        self._overflowed = False  # articles were left in the index for later
        self._closed = False
        self._refilling = threading.Lock()  # one consumer reads the index's backlog at a time
        self._next_refill = 0.0  # time.monotonic() of the next timed read of the index's backlog
        self._in_flight: set[str] = set()  # being tagged by a consumer
        self._failed: collections.OrderedDict[str, float] = collections.OrderedDict()  # id -> when it failed
        self._waiting = 0  # articles waiting for NER in the index, as last counted (kept up to date since)

    @property
    def backlog(self) -> int:
        """Articles waiting for NER: queued or being tagged here, or waiting in the index."""
        with self._cond:
            return max(len(self._todo) + len(self._in_flight), self._waiting)

    def offer(self, articles: list[Pending]) -> None:
        if not self.tagger.ner or not articles:
            return
        with self._cond:
            for item in articles:
                if item.id in self._queued or item.id in self._in_flight:
                    continue
                if len(self._todo) < self.opts.ner_queue:
                    self._todo.append(item)
                    self._queued.add(item.id)
                else:
                    self._overflowed = True
                self._waiting += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def run(self) -> None:
        """One consumer, until closed: tag what is queued; when the queue ran dry after an overflow, or every
        REFILL_EVERY_S while it is empty, refill it from the index's backlog. Once closed: drain the index's
        backlog (this pass's overflow, a crash's leftovers), then return."""
        while not self.ledger.halt.is_set():
            batch = self._take()
            if batch:
                self._tag_tracked(batch)
                continue
            with self._cond:
                closed, overflowed = self._closed, self._overflowed
            if not (closed or overflowed or time.monotonic() >= self._next_refill):
                continue
            if not self._refilling.acquire(blocking=False):
                with self._cond:  # another consumer is reading the index: wait for what it queues
                    self._cond.wait(timeout=0.2)
                continue
            try:
                refilled = self.refill()
            finally:
                self._refilling.release()
            if closed and not refilled and not self._todo:
                return

    def _take(self) -> list[Pending]:
        with self._cond:
            if not self._todo and not self._closed and not self._overflowed:
                self._cond.wait(timeout=0.5)
            size = self.opts.ner_batch
            batch = [self._todo.popleft() for _ in range(min(size, len(self._todo)))]
            ids = {p.id for p in batch}
            self._queued -= ids
            self._in_flight |= ids
            return batch

    def _tag_tracked(self, batch: list[Pending]) -> None:
        try:
            self.tag(batch)
        finally:
            with self._cond:
                self._in_flight -= {p.id for p in batch}

    def refill(self) -> int:
        """Queue up to a batch per consumer from the index's backlog (articles not queued, being tagged or
        failed lately) and count what waits there; returns how many were queued (0: none left)."""
        es, names, gate = self.es, self.names, self.gate
        with self._cond:
            self._overflowed = False
            self._next_refill = time.monotonic() + REFILL_EVERY_S
            self._forget_failures()
            skip = sorted(self._queued | self._in_flight | set(self._failed))
        gate.call(lambda: es.indices.refresh(index=names.articles))
        limit = self.opts.ner_batch * max(1, self.opts.ner_consumers)
        todo = gate.call(lambda: articles_waiting_for_entities(es, names, limit=limit, exclude=skip))
        waiting = gate.call(lambda: count_waiting_for_entities(es, names))
        with self._cond:
            self._waiting = waiting
            fresh = [p for p in todo if p.id not in self._queued and p.id not in self._in_flight]
            if not todo:
                return 0
            self._todo.extend(fresh)
            self._queued.update(p.id for p in fresh)
            self._overflowed = True  # there may be more behind these: read again when they are done
            self._cond.notify_all()
        return len(fresh)

    def _forget_failures(self) -> None:
        """Failures old enough are tried again (a service runs for months); at most MAX_FAILED are kept."""
        expired = time.monotonic() - FAILED_RETRY_S
        while self._failed and (len(self._failed) > MAX_FAILED or next(iter(self._failed.values())) < expired):
            self._failed.popitem(last=False)

    def _done(self, written: int, failed: list[str]) -> None:
        with self._cond:
            self._waiting = max(0, self._waiting - written)
            now = time.monotonic()
            for aid in failed:
                self._failed[aid] = now
                self._failed.move_to_end(aid)
            self._forget_failures()

    def tag(self, batch: list[Pending]) -> None:
        es, names, opts, ledger = self.es, self.names, self.opts, self.ledger
        began = time.perf_counter()
        try:
            plan = self.gate.call(
                lambda: entity_updates(es, names, self.tagger, batch, story_days=opts.story_language_days)
            )
        except Exception as exc:  # the batch stays ner_done: false in the index; read back after FAILED_RETRY_S
            if isinstance(exc, Halted):
                raise
            with ledger.lock:
                for p in batch:
                    ledger.summary.fail(Step.NER, p.id, f"{type(exc).__name__}: {exc}", transient=True)
            self._done(0, [p.id for p in batch])
            return
        report = self.gate.call(
            lambda: update_entities(
                es, names, plan.updates, chunk_docs=opts.flush_docs, max_retries=opts.bulk_max_retries,
                backoff_s=opts.bulk_backoff_s, max_backoff_s=opts.bulk_max_backoff_s,
            )
        )  # fmt: skip
        if plan.stories:  # after the joins are written: a later report of an alerted story is not sent again
            self.gate.call(lambda: settle_story_alerts(es, names, plan, report.written))
        ledger.busy("ner", time.perf_counter() - began)
        self._done(len(report.written), list(report.failed))
        with ledger.lock:
            for aid, reason in report.failed.items():
                ledger.summary.fail(Step.NER, aid, reason, transient=aid in report.transient)
            ledger.summary.entities_added += len(report.written)
            ledger.summary.entities_reused += plan.reused
            ledger.progress.ner_done += len(report.written)
        self._alert_on_events(plan.updates, report.written)

    def _alert_on_events(self, updates: dict[str, dict[str, Any]], written: list[str]) -> None:
        """Event watches on the events just written; a failure is the pass's MATCH failure, not NER's (the
        entities are in the index)."""
        opts, ledger = self.opts, self.ledger
        try:
            report = self.gate.call(
                lambda: alert_on_events(
                    self.es, self.names, updates, set(written), dedup_window_s=opts.dedup_window_s,
                    max_age_s=opts.alert_max_age_s,
                )
            )  # fmt: skip
        except Exception as exc:
            if isinstance(exc, Halted):
                raise
            with ledger.lock:
                ledger.summary.fail(Step.MATCH, "event-watches", f"{type(exc).__name__}: {exc}", transient=True)
            return
        with ledger.lock:
            count_event_alerts(ledger.summary, report)
        if report.created and self.wake is not None:
            self.wake.set()
