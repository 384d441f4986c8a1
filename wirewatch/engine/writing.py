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
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from enrich.tags import Tags
from search.bulk import index_articles
from search.bulksend import BulkReport
from search.errors import SearchError
from search.known import existing_ids
from search.reuse import Pending
from wirewatch.documents import article_document
from wirewatch.engine.gate import EsGate
from wirewatch.engine.jobs import ArticleJob
from wirewatch.engine.ledger import FeedLedger
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.queues import Stage
from wirewatch.engine.recent import Refresher
from wirewatch.steps import Step
from wirewatch.stories import story_fields_for

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from enrich.tagger import Tagger
    from search.names import IndexNames
    from wirewatch.engine.ahead import FetchAhead

# a batch closes early after this long without a new article while fetching waits for the write
QUIET_S = 0.03


class BulkWriter:
    """``articles`` in; out: the durable ids ``to_match``, the written texts ``to_ner``, finished feeds to the
    ledger."""

    def __init__(
        self,
        articles: Stage[ArticleJob],
        *,
        to_match: Callable[[list[str]], None],
        to_ner: Callable[[list[Pending]], None],
        ledger: FeedLedger,
        gate: EsGate,
        es: Elasticsearch,
        names: IndexNames,
        tagger: Tagger,
        ahead: FetchAhead,
        refresher: Refresher,
        opts: EngineOptions,
    ) -> None:
        self.articles, self.to_match, self.to_ner = articles, to_match, to_ner
        self.ledger, self.gate, self.es, self.names, self.tagger = ledger, gate, es, names, tagger
        self.ahead, self.refresher, self.opts = ahead, refresher, opts

    def run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                began = time.perf_counter()
                for job in batch:  # in the write now: the next pages are fetched and extracted meanwhile
                    if job.ticket is not None:
                        job.ticket.release()
                self.write(batch)
                self.ledger.busy("index", time.perf_counter() - began)

    def _next_batch(self) -> list[ArticleJob] | None:
        """Up to flush_docs/flush_bytes articles, closed when the first has waited flush_age_s, or sooner when
        fetching waits for this write (nothing more is coming until it is done); None at the end."""
        opts, queue, ahead = self.opts, self.articles, self.ahead
        first = queue.get()
        if first is None:
            return None
        batch, size = [first], len(first.article.text)
        closes = time.monotonic() + opts.flush_age_s
        while len(batch) < opts.flush_docs and size < opts.flush_bytes:
            left = closes - time.monotonic()
            if left <= 0:
                break
            job = queue.get(timeout=min(left, QUIET_S))
            if job is None:
                if ahead.blocking or queue.closed_and_empty or self.ledger.halt.is_set():
                    break
                continue
            batch.append(job)
            size += len(job.article.text)
        return batch

    def write(self, batch: list[ArticleJob]) -> None:
        es, names, refresher = self.es, self.names, self.refresher
        moved = [j.article.id for j in batch if j.article.id != j.item.id]  # a canonical link gave another id
        known = self.gate.call(lambda: existing_ids(es, names, moved)) if moved else set()
        to_write = [j for j in batch if self._accepted(j, j.article.id in known)]
        docs = self._documents(to_write)
        to_write = [j for j in to_write if j.article.id in docs]
        if to_write:
            try:
                report = self.gate.call(lambda: self._index(list(docs.values())))
            except SearchError:
                refresher.wrote()  # even a failed bulk may have written some: the next refresh shows them
                raise  # outage beyond patience, or the index is missing: the engine stops with the reason
            except Exception as exc:  # anything else fails this batch's entries (tried again next pass)
                report = BulkReport(transient={j.article.id: f"{type(exc).__name__}: {exc}" for j in to_write})
            number = refresher.wrote()
            refresher.recent.add(number, {aid: docs[aid] for aid in report.durable if aid in docs})
            if len(refresher.recent) > self.opts.unsearchable_max:
                # the matcher refreshes after each write, unless it is held (matching refused, an outage):
                # then the writer refreshes, so what it keeps in memory stays bounded
                refresher.refresh()
            languages = {aid: str(doc["language"]) if doc.get("language") else None for aid, doc in docs.items()}
            self._settle(to_write, report, languages)
        self.ledger.check_done([j.work for j in batch])

    def _documents(self, jobs: list[ArticleJob]) -> dict[str, dict[str, object]]:
        """Article id -> document with its gazetteer tags (the page's language as the hint) and its story; an
        article that cannot be tagged or turned into a document fails here by name (transient: its feed is
        tried again) and the others go on."""
        es, names, recent = self.es, self.names, self.refresher.recent
        articles = [j.article for j in jobs]
        # Stories first (one terms query for the batch): copies of an earlier story join it; an outage waits.
        # The writes no finished refresh covers yet come from ``refresher.recent``: no refresh to wait for here.
        # Signatures and tags made in the extraction processes are used as they are (``wirewatch.early``).
        signatures = {j.article.id: j.early.signature for j in jobs if j.early is not None}
        stories = self.gate.call(
            lambda: story_fields_for(es, names, articles, signatures, refresh=False, unsearchable=recent)
        )
        tagger = self.tagger
        try:
            tags = self._group_tags(jobs)
            return {a.id: article_document(a, t, stories.get(a.id)) for a, t in zip(articles, tags, strict=True)}
        except Exception:  # find the article at fault: one at a time
            pass
        docs: dict[str, dict[str, object]] = {}
        for job in jobs:
            a = job.article
            try:
                docs[a.id] = article_document(a, tagger.tag_groups([a.text], [a.language])[0], stories.get(a.id))
            except Exception as exc:
                reason = f"crashed while tagging: {type(exc).__name__}: {exc}"
                self._settle([job], BulkReport(transient={a.id: reason}))
        return docs

    def _group_tags(self, jobs: list[ArticleJob]) -> list[Tags]:
        """Each article's tracked groups: made in its extraction process, else here (one call for the rest)."""
        todo = [j for j in jobs if j.early is None]
        made = iter(
            self.tagger.tag_groups([j.article.text for j in todo], [j.article.language for j in todo])
            if todo
            else []
        )
        return [j.early.tags if j.early is not None else next(made) for j in jobs]

    def _accepted(self, job: ArticleJob, already_indexed: bool) -> bool:
        work, ledger = job.work, self.ledger
        accepted = ledger.update(
            work, Step.INDEX, lambda: work.accept(ledger.claims, job.item, job.article, already_indexed)
        )
        return bool(accepted)

    def _index(self, docs: list[dict[str, object]]) -> BulkReport:
        opts = self.opts
        return index_articles(
            self.es, self.names, docs, chunk_docs=opts.flush_docs, chunk_bytes=opts.flush_bytes,
            max_retries=opts.bulk_max_retries, backoff_s=opts.bulk_backoff_s, max_backoff_s=opts.bulk_max_backoff_s,
        )  # fmt: skip

    def _settle(
        self, jobs: list[ArticleJob], report: BulkReport, languages: dict[str, str | None] | None = None
    ) -> None:
        ledger, languages = self.ledger, languages or {}
        durable, refused, failed = set(report.durable), set(report.permanent), report.failed
        for job in jobs:
            aid, work = job.article.id, job.work
            reason = failed.get(aid, "not written to the index")
            change = partial(work.written, ledger.claims, aid, durable=aid in durable, refused=aid in refused,
                             reason=reason)  # fmt: skip
            ledger.update(work, Step.INDEX, change)
        written = [j for j in jobs if j.article.id in set(report.written)]
        self.to_match([j.article.id for j in jobs if j.article.id in durable])
        self.to_ner([pending_of(j, languages.get(j.article.id)) for j in written])


def pending_of(job: ArticleJob, language: str | None) -> Pending:
    """What NER needs of a written article: its text, its language (picks the model), its content hash (an
    identical text tagged before gives its entities instead)."""
    a = job.article
    return Pending(
        id=a.id,
        text=a.text,
        content_hash=a.content_hash,
        language=language or a.language,
        published_at=a.published_at.isoformat() if a.published_at else None,
    )
