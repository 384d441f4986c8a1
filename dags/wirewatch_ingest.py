"""Wirewatch ingestion: poll feeds, fetch and extract articles, tag, index, alert and deliver.

The due feeds are split into ``airflow_shards`` shards by a stable hash of the feed id; each shard is a mapped
task in the ``airflow_pool`` pool; the last task, ``reconcile``, matches since the checkpoint (nothing a crashed
shard indexed goes unalerted), delivers, adds leftover entities and writes the summary.

Thin on purpose: every task calls one function of ``wirewatch.airflow_tasks``, imported inside the task so
parsing this file never loads spaCy, trafilatura or the Elasticsearch client.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, dag, task

from wirewatch.settings import load_settings

ARTICLES = Asset("wirewatch://elasticsearch/articles")
SETTINGS = load_settings()

# Airflow stops a task still running after its execution_timeout (and retries it), so a hung task cannot hold
# the one active run forever. A shard's pass ends by pass_deadline_s (unfinished feeds abandoned, deliveries
# stopped); the margin covers set-up, the last matching and the workers' exit. Without a pass deadline, an hour.
PASS_S = SETTINGS.pass_deadline_s or 3600.0
PASS_TIMEOUT = timedelta(seconds=PASS_S + 600)
SHORT_TIMEOUT = timedelta(minutes=10)  # set-up and planning: a few requests to Elasticsearch

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "wirewatch",
    "execution_timeout": SHORT_TIMEOUT,
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


@dag(
    dag_id="wirewatch_ingest",
    schedule=SETTINGS.schedule or None,  # empty: only triggered runs
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["wirewatch"],
    doc_md=__doc__,
)
def wirewatch_ingest() -> None:
    # setup -> due_feed_shards -> shard (mapped, in the pool) -> reconcile. Step-named where a task is a step
    # of wirewatch.steps.Step; each shard polls, indexes, alerts and delivers as its articles land.
    @task
    def setup() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.setup()

    @task
    def due_feed_shards() -> list[list[str]]:
        from wirewatch import airflow_tasks

        return airflow_tasks.due_feed_shards()

    # The pool caps the shards running at once on all workers (each holds extraction and NER processes): it
    # must exist before the first run (`airflow pools set`, see the README); parsing this file creates nothing.
    @task(outlets=[ARTICLES], pool=SETTINGS.airflow_pool, execution_timeout=PASS_TIMEOUT)
    def shard(feed_ids: list[str]) -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.shard(feed_ids)

    @task(trigger_rule="all_done", execution_timeout=PASS_TIMEOUT)
    def reconcile(shards: list[dict[str, Any]]) -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.reconcile(list(shards))

    planned = due_feed_shards()
    setup() >> planned
    reconcile(shard.expand(feed_ids=planned))  # type: ignore[arg-type]  # XComArgs resolve at run time


wirewatch_ingest()
