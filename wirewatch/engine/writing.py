"""The bulk writer: gazetteer tags, article documents, one bulk write per micro-batch.

A micro-batch closes when it holds ``flush_docs`` documents or ``flush_bytes`` of text, or when its first
article has waited ``flush_age_s`` (about 250 ms): a lone article is never held back for a full batch. The
write is ``search.bulk.index_articles`` with its per-document retries; an outage is waited out through the
gate, the batch held meanwhile (the queues behind fill up and stop the stages upstream). After the write:
each entry gets its outcome, finished feeds go to the committer, the written ids to the matcher and the
written texts to NER.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING

from search.bulksend import BulkReport
from search.errors import SearchError
from wirewatch.documents import article_document
from wirewatch.engine.jobs import ArticleJob
from wirewatch.steps import Step

if TYPE_CHECKING:
    from wirewatch.engine.core import Engine


class BulkWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                began = time.perf_counter()
                self.write(batch)
                self.engine.busy("index", time.perf_counter() - began)

    def _next_batch(self) -> list[ArticleJob] | None:
        """Up to flush_docs/flush_bytes articles, closed when the first has waited flush_age_s; None at the end."""
        opts, queue = self.engine.opts, self.engine.articles
        first = queue.get()
        if first is None:
            return None
        batch, size = [first], len(first.article.text)
        closes = time.monotonic() + opts.flush_age_s
        while len(batch) < opts.flush_docs and size < opts.flush_bytes:
            left = closes - time.monotonic()
            if left <= 0:
                break
            job = queue.get(timeout=left)
            if job is None:
                break
            batch.append(job)
            size += len(job.article.text)
        return batch

    def write(self, batch: list[ArticleJob]) -> None:
        from search.known import existing_ids

        engine, rt = self.engine, self.engine.rt
        moved = [j.article.id for j in batch if j.article.id != j.item.id]  # a canonical link gave another id
        known = engine.gate.call(lambda: existing_ids(rt.es, rt.names, moved)) if moved else set()
        to_write = [j for j in batch if self._accepted(j, j.article.id in known)]
        docs = self._documents(to_write)
        to_write = [j for j in to_write if j.article.id in docs]
        if to_write:
            try:
                report = engine.gate.call(lambda: self._index(list(docs.values())))
            except SearchError:
                raise  # outage beyond patience, or the index is missing: the engine stops with the reason
            except Exception as exc:  # anything else fails this batch's entries (tried again next pass)
                report = BulkReport(transient={j.article.id: f"{type(exc).__name__}: {exc}" for j in to_write})
            self._settle(to_write, report)
        engine.check_done([j.work for j in batch])

    def _documents(self, jobs: list[ArticleJob]) -> dict[str, dict[str, object]]:
        """Article id -> document with its gazetteer tags; an article that cannot be tagged or turned into a
        document fails here by name (transient: its feed is tried again) and the others go on."""
        tagger = self.engine.tools.tagger
        try:
            tags = tagger.tag_groups([j.article.text for j in jobs])
            return {j.article.id: article_document(j.article, t) for j, t in zip(jobs, tags, strict=True)}
        except Exception:  # find the article at fault: one at a time
            pass
        docs: dict[str, dict[str, object]] = {}
        for job in jobs:
            try:
                docs[job.article.id] = article_document(job.article, tagger.tag_groups([job.article.text])[0])
            except Exception as exc:
                reason = f"crashed while tagging: {type(exc).__name__}: {exc}"
                self._settle([job], BulkReport(transient={job.article.id: reason}))
        return docs

    def _accepted(self, job: ArticleJob, already_indexed: bool) -> bool:
        work, engine = job.work, self.engine
        accepted = engine.update(
            work, Step.INDEX, lambda: work.accept(engine.claims, job.item, job.article, already_indexed)
        )
        return bool(accepted)

    def _index(self, docs: list[dict[str, object]]) -> BulkReport:
        from search.bulk import index_articles

        rt, opts = self.engine.rt, self.engine.opts
        return index_articles(
            rt.es, rt.names, docs, chunk_docs=opts.flush_docs, chunk_bytes=opts.flush_bytes,
            max_retries=opts.bulk_max_retries,
        )  # fmt: skip

    def _settle(self, jobs: list[ArticleJob], report: BulkReport) -> None:
        engine = self.engine
        durable, refused, failed = set(report.durable), set(report.permanent), report.failed
        for job in jobs:
            aid, work = job.article.id, job.work
            reason = failed.get(aid, "not written to the index")
            change = partial(work.written, engine.claims, aid, durable=aid in durable, refused=aid in refused,
                             reason=reason)  # fmt: skip
            engine.update(work, Step.INDEX, change)
        written = [j for j in jobs if j.article.id in set(report.written)]
        engine.alerter.enqueue([j.article.id for j in jobs if j.article.id in durable])
        engine.ner.offer([(j.article.id, j.article.text) for j in written])
