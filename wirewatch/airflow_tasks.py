"""What the Airflow tasks do, kept out of the DAG file so it parses fast and stays thin.

Every function builds its own runtime (a task may run on any worker), takes and returns only small JSON
values (feed ids, counts: XComs never carry article text), and reads Elasticsearch from the Airflow connection
``wirewatch_es`` when it exists, else from the settings.
"""

from __future__ import annotations

import logging
from typing import Any

from wirewatch.runtime import EsTarget, Runtime, build_runtime, es_target
from wirewatch.settings import Settings, load_settings
from wirewatch.summary import PassSummary, write_summary

log = logging.getLogger("wirewatch.airflow")
CONNECTION_ID = "wirewatch_es"


def es_target_from_airflow(settings: Settings) -> EsTarget:
    """The ``wirewatch_es`` connection (host may be a full URL), or the settings when it is not defined."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(CONNECTION_ID)
    except AirflowNotFoundException:
        return es_target(settings)
    host = conn.host or "127.0.0.1"
    url = host.rstrip("/") if "://" in host else f"{conn.schema or 'http'}://{host}:{conn.port or 9200}"
    api_key = (conn.extra_dejson or {}).get("api_key")
    return EsTarget(url=url, username=conn.login or None, password=conn.password or None, api_key=api_key)


def task_runtime() -> Runtime:
    settings = load_settings()
    return build_runtime(settings, target=es_target_from_airflow(settings))


def setup() -> dict[str, Any]:
    """Step.SETUP: indices created or migrated, group watches synced."""
    from wirewatch.pipeline import ensure_indices as ensure
    from wirewatch.pipeline import sync_watches

    rt = task_runtime()
    report = ensure(rt).as_dict()
    report["watches"] = sync_watches(rt, list(rt.channels()))
    return report


def due_feed_batches() -> list[list[str]]:
    """Ids of the due feeds, in batches of ``feeds_per_batch`` (one mapped task each)."""
    from wirewatch.pipeline import due_feeds

    rt = task_runtime()
    ids = [f.id for f in due_feeds(rt)]
    size = max(1, rt.settings.feeds_per_batch)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def ingest(feed_ids: list[str]) -> dict[str, Any]:
    """One batch of feeds through the streaming engine: collect, tag, index and commit, with alerts raised
    and delivered as the batch's articles land (the ``match`` task reconciles; NER is the ``ner`` task's)."""
    from wirewatch.engine import run_engine

    rt = task_runtime()
    wanted = set(feed_ids)
    feeds = [f for f in rt.feeds() if f.id in wanted]
    part = PassSummary()
    with rt.tools(ner=False) as tools:
        run_engine(rt, tools, feeds, summary=part)
    if part.fatal:
        raise RuntimeError(f"the batch could not run: {part.fatal}")  # Airflow retries the task
    data = part.to_dict()
    data["written"] = part.entries["indexed"]
    return data


def match() -> dict[str, Any]:
    """Step.MATCH: every watch against what was indexed since the checkpoint."""
    from wirewatch.pipeline import match_watches

    rt = task_runtime()
    part = PassSummary()
    match_watches(rt, part)
    return part.to_dict()


def deliver() -> dict[str, Any]:
    """Step.DELIVER: pending alerts sent from the outbox."""
    from wirewatch.pipeline import deliver_alerts

    rt = task_runtime()
    part = PassSummary()
    deliver_alerts(rt, part)
    return part.to_dict()


def ner() -> dict[str, Any]:
    """Step.NER: entities added to articles indexed with group tags only."""
    from wirewatch.pipeline import add_entities

    rt = task_runtime()
    part = PassSummary()
    with rt.tagger() as tagger:
        add_entities(rt, tagger, part)
    return part.to_dict()


def summary(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of the run from the parts every task returned; logged for operators."""
    total = PassSummary.from_dict(parts[0]) if parts else PassSummary()
    for part in parts[1:]:
        total.merge(PassSummary.from_dict(part))
    data = total.to_dict()
    log.info(
        "wirewatch pass %s: entries %s, feeds %s, alerts %s, deliveries %s, %d failure(s)",
        data["status"], data["entries"], data["feeds"], data["alerts"], data["deliveries"], len(data["failures"]),
    )  # fmt: skip
    for failure in data["failures"]:
        log.warning("failed %s %s: %s", failure["stage"], failure["subject"], failure["reason"])
    write_summary(load_settings().summary_file, data)
    return data

