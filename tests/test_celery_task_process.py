"""A shard inside a Celery worker (issue 26): its extraction processes must start in a daemonic parent.

Under the CeleryExecutor a task process is forked from a prefork pool process: billiard's, daemonic, installed
as multiprocessing's current process. Python's multiprocessing refuses any child to a daemonic process
("daemonic processes are not allowed to have children") and will not pickle billiard's authentication key
into a spawned child ("Pickling an AuthenticationString object is disallowed"): every shard failed at its
first step on a real Celery worker (found by ``make cluster-check``). Here a real billiard process, daemonic
and forked as the prefork pool forks, opens the shard's extraction pool inside ``workers_spawn_cleanly`` and
extracts a real page on a real worker process.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from typing import Any

import billiard
import pytest

from seeds.server import render

pytestmark = pytest.mark.slow


def _shard_step(results: Any) -> None:
    from ingest.extract import PageInput
    from ingest.pool import ExtractPool
    from wirewatch.airflow_tasks import workers_spawn_cleanly

    html = render("article.html", "https://dispatch.example").decode("utf-8")
    page = PageInput(html=html, url="https://dispatch.example/a", source="seed", fetched_at=datetime.now(UTC))
    try:
        with workers_spawn_cleanly(), ExtractPool(workers=1) as pool:
            [outcome] = pool.run([page])
        results.put("article" if outcome.article is not None else f"no article: {outcome}")
        current = multiprocessing.current_process()
        results.put(f"after: {type(current).__module__.split('.')[0]} {current.daemon}")
    except BaseException as exc:  # the parent reads what went wrong
        results.put(f"{type(exc).__name__}: {exc}")


def test_a_shard_in_a_daemonic_worker_process_starts_its_extraction_processes() -> None:
    ctx = billiard.get_context("fork")
    results = ctx.Queue()
    worker = ctx.Process(target=_shard_step, args=(results,), daemon=True)  # as Celery's prefork pool runs it
    worker.start()
    try:
        first = results.get(timeout=120)
        assert first == "article", first
        assert results.get(timeout=10) == "after: billiard True"  # the pool's process again afterwards
    finally:
        worker.join(30)
    assert worker.exitcode == 0
