"""The extraction stage: one thread keeps the process pool busy, feeding a page to each idle worker as soon
as one is queued and passing each outcome on as soon as it is back."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ingest.pool import PageOutcome
from wirewatch.early import Early
from wirewatch.engine.jobs import ArticleJob, ExtractJob
from wirewatch.steps import Step

if TYPE_CHECKING:
    from wirewatch.engine.core import Engine


def extract_loop(engine: Engine) -> None:
    pool = engine.tools.pool
    while True:
        while pool.free:
            job = engine.extracts.get_nowait() if pool.busy else engine.extracts.get()
            if job is None:
                break
            pool.submit(job, job.page)
        if not pool.busy:
            if engine.extracts.closed_and_empty or engine.halt.is_set():
                return
            continue
        began = time.perf_counter()
        for key, outcome in pool.results(timeout=0.05):
            assert isinstance(key, ExtractJob)
            settle_one(engine, key, outcome)
        engine.busy("extract", time.perf_counter() - began)


def settle_one(engine: Engine, job: ExtractJob, outcome: PageOutcome) -> None:
    work, item = job.work, job.item
    try:
        article = engine.update(work, Step.EXTRACT, lambda: work.extracted(engine.claims, item, outcome))
    except Exception as exc:  # a record the bookkeeping cannot take is this page's failure
        reason = f"crashed after extraction: {type(exc).__name__}: {exc}"
        engine.update(work, Step.EXTRACT, lambda: work.close_entry(engine.claims, item, "failed", reason, True))
        article = None
    with engine.lock:
        engine.progress.extracted += 1
    if article is None:
        if job.ticket is not None:
            job.ticket.release()
        engine.check_done([work])
        return
    early = outcome.extra if isinstance(outcome.extra, Early) else None
    engine.articles.put(ArticleJob(work, item, article, early, job.ticket))
