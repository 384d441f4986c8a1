"""Wirewatch ingestion: poll feeds, fetch and extract articles, tag, index, alert and deliver.

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

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "wirewatch",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


@dag(
    dag_id="wirewatch_ingest",
    schedule=SETTINGS.schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["wirewatch"],
    doc_md=__doc__,
)
def wirewatch_ingest() -> None:
    # Task ids are the step names of wirewatch.steps.Step ("ingest" runs collect, tag, index and commit).
    @task
    def setup() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.setup()

    @task
    def due_feed_batches() -> list[list[str]]:
        from wirewatch import airflow_tasks

        return airflow_tasks.due_feed_batches()

    @task(outlets=[ARTICLES])
    def ingest(feed_ids: list[str]) -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.ingest(feed_ids)

    @task(trigger_rule="all_done")
    def match() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.match()

    @task(trigger_rule="all_done")
    def deliver() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.deliver()

    @task(trigger_rule="all_done")
    def ner() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.ner()

    @task(trigger_rule="all_done")
    def summary(ingested: list[dict[str, Any]], *later: dict[str, Any]) -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.summary([*ingested, *later])

    batches = due_feed_batches()
    setup() >> batches
    ingested = ingest.expand(feed_ids=batches)
    matched = match()
    delivered = deliver()
    entities = ner()
    ingested >> matched >> delivered >> entities
    summary(ingested, matched, delivered, entities)  # type: ignore[arg-type]  # XComArgs resolve at run time


wirewatch_ingest()
