"""NER beside the other stages: a consumer of the articles just written, its workers busy while fetching
and extraction go on, writing entities in micro-batches.

Its queue is bounded and never blocks the writer: when NER falls behind (it is most of the CPU), the
articles it had no room for stay ``ner_done: false`` in the index and are read back from there
(``search.backlog``) once the queue has room, as are any a crash left. Group alerts never wait for it.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import TYPE_CHECKING

from wirewatch.documents import entity_update
from wirewatch.steps import Step

if TYPE_CHECKING:
    from wirewatch.engine.core import Engine


class NerStage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._todo: collections.deque[tuple[str, str]] = collections.deque()
        self._overflowed = False  # articles were left in the index for later
        self._closed = False
        self._tried: set[str] = set()  # read back from the index by this engine (a failure is not retried forever)

    @property
    def backlog(self) -> int:
        return len(self._todo) + (1 if self._overflowed else 0)

    def offer(self, articles: list[tuple[str, str]]) -> None:
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

    def _take(self) -> list[tuple[str, str]]:
        with self._cond:
            if not self._todo and not self._closed and not self._overflowed:
                self._cond.wait(timeout=0.5)
            size = self.engine.opts.ner_batch
            return [self._todo.popleft() for _ in range(min(size, len(self._todo)))]

    def from_index(self) -> int:
        from search.backlog import articles_missing_entities

        engine, rt = self.engine, self.engine.rt
        engine.gate.call(lambda: rt.es.indices.refresh(index=rt.names.articles))
        todo = engine.gate.call(lambda: articles_missing_entities(rt.es, rt.names, limit=engine.opts.ner_batch))
        todo = [(aid, text) for aid, text in todo if aid not in self._tried]
        if not todo:
            self._tried.clear()
            return 0
        self._tried.update(aid for aid, _ in todo)
        self.tag(todo)
        return len(todo)

    def tag(self, batch: list[tuple[str, str]]) -> None:
        from search.bulk import update_entities

        engine, rt = self.engine, self.engine.rt
        began = time.perf_counter()
        try:
            tags = engine.tools.tagger.tag([text for _, text in batch])
        except Exception as exc:  # the batch stays ner_done: false in the index; the next drain retries it
            with engine.lock:
                for aid, _ in batch:
                    engine.summary.fail(Step.NER, aid, f"{type(exc).__name__}: {exc}", transient=True)
            return
        updates = {aid: entity_update(t) for (aid, _), t in zip(batch, tags, strict=True)}
        report = engine.gate.call(lambda: update_entities(rt.es, rt.names, updates, chunk_docs=engine.opts.flush_docs))
        engine.busy("ner", time.perf_counter() - began)
        with engine.lock:
            for aid, reason in report.failed.items():
                engine.summary.fail(Step.NER, aid, reason, transient=aid in report.transient)
            engine.summary.entities_added += len(report.written)
            engine.progress.ner_done += len(report.written)
