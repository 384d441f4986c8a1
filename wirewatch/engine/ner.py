"""NER beside the other stages: a consumer of the articles just written, its workers busy while fetching
and extraction go on, writing entities in micro-batches.

Its queue is bounded and never blocks the writer: when NER falls behind (it is most of the CPU), the
articles it had no room for stay ``ner_done: false`` in the index and are read back from there
(``search.reuse.articles_waiting_for_entities``) once the queue has room, as are any a crash left. Several
consumers share the queue, so the NER processes never wait while one consumer writes its entities. Group alerts
never wait for it. A copy whose text was tagged before takes its entities (``wirewatch.reuse``): NER runs once
per distinct text, with the model of the article's language.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import TYPE_CHECKING

from search.reuse import Pending
from wirewatch.engine.gate import Halted
from wirewatch.steps import Step

if TYPE_CHECKING:
    from wirewatch.engine.core import Engine


RECENT_DONE = 2_000  # ids tagged lately, kept out of the index's backlog until a refresh has surely shown them


class NerStage:
    """``consumers`` threads (the engine runs one more than there are NER processes, so a worker always has a
    batch queued while another consumer writes its entities) take ``ner_batch`` articles each: one task per
    NER process, small enough that the last batches of a pass end together."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._todo: collections.deque[Pending] = collections.deque()
        self._overflowed = False  # articles were left in the index for later
        self._closed = False
        self._refilling = threading.Lock()  # one consumer reads the index's backlog at a time
        self._tried: set[str] = set()  # read back from the index (a failure is not retried forever)
        self._in_flight: set[str] = set()  # being tagged by a consumer
        self._recent: collections.OrderedDict[str, None] = collections.OrderedDict()  # tagged lately

    @property
    def backlog(self) -> int:
        return len(self._todo) + (1 if self._overflowed else 0)

    def offer(self, articles: list[Pending]) -> None:
        if not self.engine.tools.tagger.ner or not articles:
            return
        with self._cond:
            for item in articles:
                if len(self._todo) < self.engine.opts.ner_queue:
                    self._todo.append(item)
                else:
                    self._overflowed = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def run(self) -> None:
        """One consumer, until closed: tag what is queued; when the queue ran dry after an overflow, refill
        it from the index's backlog. Once closed: drain the index's backlog (this pass's overflow, a crash's
        leftovers), then return."""
        engine = self.engine
        while not engine.halt.is_set():
            batch = self._take()
            if batch:
                self._tag_tracked(batch)
                continue
            with self._cond:
                closed, overflowed = self._closed, self._overflowed
            if not (closed or overflowed):
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
            size = self.engine.opts.ner_batch
            batch = [self._todo.popleft() for _ in range(min(size, len(self._todo)))]
            self._in_flight.update(p.id for p in batch)
            return batch

    def _tag_tracked(self, batch: list[Pending]) -> None:
        try:
            self.tag(batch)
        finally:
            with self._cond:
                for p in batch:
                    self._in_flight.discard(p.id)
                    self._recent[p.id] = None
                while len(self._recent) > RECENT_DONE:
                    self._recent.popitem(last=False)

    def refill(self) -> int:
        """Queue up to a batch per consumer from the index's backlog (articles not being or lately tagged);
        0 when it is empty."""
        from search.reuse import articles_waiting_for_entities

        engine, rt = self.engine, self.engine.rt
        with self._cond:
            self._overflowed = False
            skip = sorted(self._tried | self._in_flight | set(self._recent))
        engine.gate.call(lambda: rt.es.indices.refresh(index=rt.names.articles))
        limit = engine.opts.ner_batch * max(1, engine.opts.ner_consumers)
        todo = engine.gate.call(lambda: articles_waiting_for_entities(rt.es, rt.names, limit=limit, exclude=skip))
        with self._cond:
            if not todo:
                self._tried.clear()
                return 0
            self._tried.update(p.id for p in todo)
            self._todo.extend(todo)
            self._overflowed = True  # there may be more behind these: read again when they are done
            self._cond.notify_all()
        return len(todo)

    def tag(self, batch: list[Pending]) -> None:
        from search.bulk import update_entities
        from wirewatch.reuse import entity_updates

        engine, rt = self.engine, self.engine.rt
        began = time.perf_counter()
        try:
            days = rt.settings.story_language_days
            plan = engine.gate.call(
                lambda: entity_updates(rt.es, rt.names, engine.tools.tagger, batch, story_days=days)
            )
        except Exception as exc:  # the batch stays ner_done: false in the index; the next drain retries it
            if isinstance(exc, Halted):
                raise
            with engine.lock:
                for p in batch:
                    engine.summary.fail(Step.NER, p.id, f"{type(exc).__name__}: {exc}", transient=True)
            return
        s = rt.settings
        report = engine.gate.call(
            lambda: update_entities(
                rt.es, rt.names, plan.updates, chunk_docs=engine.opts.flush_docs, max_retries=s.es_max_retries,
                backoff_s=s.es_backoff_s, max_backoff_s=s.es_max_backoff_s,
            )
        )  # fmt: skip
        engine.busy("ner", time.perf_counter() - began)
        with engine.lock:
            for aid, reason in report.failed.items():
                engine.summary.fail(Step.NER, aid, reason, transient=aid in report.transient)
            engine.summary.entities_added += len(report.written)
            engine.summary.entities_reused += plan.reused
            engine.progress.ner_done += len(report.written)
