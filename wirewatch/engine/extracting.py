"""The extraction stage: one thread keeps the process pool busy, feeding a page to each idle worker as soon
as one is queued and passing each outcome on as soon as it is back."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ingest.pool import PageOutcome
from wirewatch.early import Early
from wirewatch.engine.jobs import ArticleJob, ExtractJob
from wirewatch.engine.ledger import FeedLedger
from wirewatch.engine.queues import Stage
from wirewatch.steps import Step

if TYPE_CHECKING:
    from ingest.pool import ExtractPool


class Extractor:
    """``extracts`` in, ``articles`` out, through ``pool``."""

    def __init__(
        self, extracts: Stage[ExtractJob], articles: Stage[ArticleJob], *, ledger: FeedLedger, pool: ExtractPool
    ) -> None:
        self.extracts, self.articles, self.ledger, self.pool = extracts, articles, ledger, pool

    def run(self) -> None:
        pool, extracts = self.pool, self.extracts
        while True:
            while pool.free:
                job = extracts.get_nowait() if pool.busy else extracts.get()
                if job is None:
                    break
                pool.submit(job, job.page)
            if not pool.busy:
                if extracts.closed_and_empty or self.ledger.halt.is_set():
                    return
                continue
            began = time.perf_counter()
            for key, outcome in pool.results(timeout=0.05):
                assert isinstance(key, ExtractJob)
                self.settle_one(key, outcome)
            self.ledger.busy("extract", time.perf_counter() - began)

    def settle_one(self, job: ExtractJob, outcome: PageOutcome) -> None:
        work, item, ledger = job.work, job.item, self.ledger
        try:
            article = ledger.update(work, Step.EXTRACT, lambda: work.extracted(ledger.claims, item, outcome))
        except Exception as exc:  # a record the bookkeeping cannot take is this page's failure
            reason = f"crashed after extraction: {type(exc).__name__}: {exc}"
            ledger.update(work, Step.EXTRACT, lambda: work.close_entry(ledger.claims, item, "failed", reason, True))
            article = None
        ledger.advance("extracted")
        if article is None:
            if job.ticket is not None:
                job.ticket.release()
            ledger.check_done([work])
            return
        early = outcome.extra if isinstance(outcome.extra, Early) else None
        self.articles.put(ArticleJob(work, item, article, early, job.ticket))
