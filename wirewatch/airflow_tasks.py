"""What the Airflow tasks do, kept out of the DAG file so it parses fast and stays thin.

Every function builds its own runtime (a task may run on any worker), takes and returns only small JSON
values (feed ids, counts: XComs never carry article text), and reads Elasticsearch from the Airflow connection
``wirewatch_es`` when it exists, else from the settings.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import process as mp_process
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


class _TaskProcess(mp_process.BaseProcess):
    """multiprocessing's view of an Airflow task process: a main process of its own (as CPython's own main
    process object is made), not the prefork pool process it was forked from."""

    def __init__(self) -> None:
        self._identity = ()
        self._name = "MainProcess"
        self._parent_pid = None
        self._popen = None
        self._closed = False
        self._config = {"authkey": mp_process.AuthenticationString(os.urandom(32)), "semprefix": "/mp"}  # type: ignore[attr-defined]


@contextmanager
def workers_spawn_cleanly() -> Iterator[None]:
    """Let the extraction and NER processes start inside an Airflow task.

    Under a real scheduler a task runs in a process whose ``__main__`` is the ``airflow`` script, and whose
    environment points the metadata database at a blocked URL (tasks must not touch it). A spawned worker
    re-runs the parent's ``__main__`` by path before its target, so it imports airflow, fails on that URL and
    dies: every page then fails as "extraction worker died". The workers need nothing from ``__main__``, so
    its path is hidden while the block runs (workers may be restarted at any time during it).

    Under the CeleryExecutor the task process is forked from a prefork pool process, which billiard installs as
    multiprocessing's current process: daemonic, so multiprocessing starts no child ("daemonic processes are
    not allowed to have children"), and with billiard's authentication key, which multiprocessing will not
    pickle into a spawned child: no shard could start. The task process is not that pool process (it is a
    fork of it and ends its own workers, daemonic themselves), so while the block runs it is what it is for
    multiprocessing: a main process of its own."""
    main = sys.modules["__main__"]
    path = main.__dict__.pop("__file__", None)
    inherited = mp_process.current_process()
    if inherited.daemon or not isinstance(inherited, mp_process.BaseProcess):
        mp_process._current_process = _TaskProcess()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        mp_process._current_process = inherited  # type: ignore[attr-defined]
        if path is not None:
            main.__file__ = path


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


def shard_of(feed_id: str, shards: int) -> int:
    """The shard a feed belongs to: a stable hash of its id (the same on every worker and every run, unlike
    ``hash()``), so a feed stays in its shard while others are added or removed."""
    digest = hashlib.blake2b(feed_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def split_into_shards(feed_ids: list[str], shards: int) -> list[list[str]]:
    """``feed_ids`` in ``shards`` groups by ``shard_of``; empty groups are dropped (no task for them)."""
    groups: list[list[str]] = [[] for _ in range(max(1, shards))]
    for feed_id in feed_ids:
        groups[shard_of(feed_id, len(groups))].append(feed_id)
    return [group for group in groups if group]


def due_feed_shards() -> list[list[str]]:
    """Ids of the due feeds in ``airflow_shards`` shards (one mapped ``shard`` task each)."""
    from wirewatch.pipeline import due_feeds

    rt = task_runtime()
    return split_into_shards([f.id for f in due_feeds(rt)], rt.settings.airflow_shards)


def shard(feed_ids: list[str]) -> dict[str, Any]:
    """One shard through the streaming engine: its feeds polled, fetched, extracted, indexed and committed,
    their alerts raised and delivered as they land, then NER. Feeds another runner holds are left to it
    (``leased_elsewhere``)."""
    from wirewatch.delivery import close_channels
    from wirewatch.engine import run_engine

    rt = task_runtime()
    wanted = set(feed_ids)
    feeds = [f for f in rt.feeds() if f.id in wanted]
    part = PassSummary()
    channels = rt.channels()
    try:
        with workers_spawn_cleanly(), rt.tools() as tools:
            run_engine(rt, tools, feeds, summary=part, channels=channels)
    finally:
        close_channels(channels)
    part.finished_at = time.time()
    if feed_ids:  # the shard's number: its feeds all hash to it, so each shard keeps one file
        write_task_metrics(rt.settings, f"wirewatch-shard-{shard_of(feed_ids[0], rt.settings.airflow_shards)}", part)
    if part.fatal:
        raise RuntimeError(f"the shard could not run: {part.fatal}")  # Airflow retries the task
    return part.to_dict()


def write_task_metrics(settings: Settings, name: str, part: PassSummary) -> None:
    """The task's counts for node_exporter's textfile collector, when ``metrics_textfile_dir`` is set. A
    failure to write is logged, never the task's failure (its work is done and committed)."""
    from wirewatch.metrics import Reading, write_textfile

    if settings.metrics_textfile_dir is None:
        return
    try:
        write_textfile(settings.metrics_textfile_dir, name, Reading(summary=part, last_progress_at=part.finished_at))
    except OSError as exc:
        log.warning("metrics not written to %s: %s", settings.metrics_textfile_dir, exc)


def reconcile(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The last task: match everything indexed since the checkpoint (so a shard that crashed after indexing
    loses no alert), deliver what is pending, add entities a crashed shard left out, write the summary."""
    from wirewatch.pipeline import add_entities, deliver_alerts, match_watches

    rt = task_runtime()
    part = PassSummary()
    limit = rt.settings.pass_deadline_s
    deadline = time.monotonic() + limit if limit else None
    match_watches(rt, part)
    deliver_alerts(rt, part, deadline=deadline)  # within the task's execution_timeout (dags/)
    before = part.alerts["created"]
    with workers_spawn_cleanly(), rt.tagger() as tagger:
        add_entities(rt, tagger, part)
    if part.alerts["created"] > before:  # event watches raised alerts on the events NER just found
        deliver_alerts(rt, part, deadline=deadline)
    part.finished_at = time.time()
    return summary([*parts, part.to_dict()])


def summary(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of the run from the parts every task returned; logged for operators."""
    parts = [p for p in parts if p]  # a shard that failed for good returned nothing
    total = PassSummary.from_dict(parts[0]) if parts else PassSummary()
    for part in parts[1:]:
        total.merge(PassSummary.from_dict(part))
    total.finished_at = time.time()
    data = total.to_dict()
    log.info(
        "wirewatch pass %s: entries %s, feeds %s, alerts %s, deliveries %s, %d failure(s)",
        data["status"], data["entries"], data["feeds"], data["alerts"], data["deliveries"], len(data["failures"]),
    )  # fmt: skip
    for failure in data["failures"]:
        log.warning("failed %s %s: %s", failure["stage"], failure["subject"], failure["reason"])
    settings = load_settings()
    write_summary(settings.summary_file, data)
    write_task_metrics(settings, "wirewatch-run", total)
    return data
