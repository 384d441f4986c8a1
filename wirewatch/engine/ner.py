"""NER beside the other stages: a consumer of the articles just written, its workers busy while fetching
and extraction go on, writing entities in micro-batches.

Its queue is bounded and never blocks the writer: when NER falls behind (it is most of the CPU), the
articles it had no room for stay ``ner_done: false`` in the index and are read back from there
(``search.reuse.articles_waiting_for_entities``) once the queue has room, as are any a crash left. Group alerts
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


class NerStage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._todo: collections.deque[Pending] = collections.deque()
        self._overflowed = False  # articles were left in the index for later
        self._closed = False
        self._tried: set[str] = set()  # read back from the index by this engine (a failure is not retried forever)

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
        """Until closed: tag what is queued; when the queue ran dry after an overflow, read the index's
        backlog. Once closed: drain the index's backlog (this pass's overflow, a crash's leftovers)."""
        engine = self.engine
        while not engine.halt.is_set():
            batch = self._take()
            if batch:
                self.tag(batch)
                continue
            with self._cond:
                closed, overflowed = self._closed, self._overflowed
                self._overflowed = False
            if closed or overflowed:
                drained = self.from_index()
                if closed and not drained:
                    return

    def _take(self) -> list[Pending]:
        with self._cond:
            if not self._todo and not self._closed and not self._overflowed:
                self._cond.wait(timeout=0.5)
            size = self.engine.opts.ner_batch
            return [self._todo.popleft() for _ in range(min(size, len(self._todo)))]

    def from_index(self) -> int:
        from search.reuse import articles_waiting_for_entities

        engine, rt = self.engine, self.engine.rt
        engine.gate.call(lambda: rt.es.indices.refresh(index=rt.names.articles))
        todo = engine.gate.call(lambda: articles_waiting_for_entities(rt.es, rt.names, limit=engine.opts.ner_batch))
        todo = [p for p in todo if p.id not in self._tried]
        if not todo:
            self._tried.clear()
            return 0
        self._tried.update(p.id for p in todo)
        self.tag(todo)
        return len(todo)

    def tag(self, batch: list[Pending]) -> None:
        from search.bulk import update_entities
        from wirewatch.reuse import entity_updates

        engine, rt = self.engine, self.engine.rt
        began = time.perf_counter()
        try:
            plan = engine.gate.call(lambda: entity_updates(rt.es, rt.names, engine.tools.tagger, batch))
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
