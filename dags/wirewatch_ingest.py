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
    @task
    def ensure_indices() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.ensure_indices()

    @task
    def due_feed_batches() -> list[list[str]]:
        from wirewatch import airflow_tasks

        return airflow_tasks.due_feed_batches()

    @task(outlets=[ARTICLES])
    def ingest_batch(feed_ids: list[str]) -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.ingest_batch(feed_ids)

    @task(trigger_rule="all_done")
    def raise_alerts() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.raise_alerts()

    @task(trigger_rule="all_done")
    def deliver_alerts() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.deliver_alerts()

    @task(trigger_rule="all_done")
    def add_entities() -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.add_entities()

    @task(trigger_rule="all_done")
    def summary(ingested: list[dict[str, Any]], *later: dict[str, Any]) -> dict[str, Any]:
        from wirewatch import airflow_tasks

        return airflow_tasks.summarise([*ingested, *later])

    batches = due_feed_batches()
    ensure_indices() >> batches
    ingested = ingest_batch.expand(feed_ids=batches)
    alerts = raise_alerts()
    delivered = deliver_alerts()
    entities = add_entities()
    ingested >> alerts >> delivered >> entities
    summary(ingested, alerts, delivered, entities)  # type: ignore[arg-type]  # XComArgs resolve at run time


wirewatch_ingest()
