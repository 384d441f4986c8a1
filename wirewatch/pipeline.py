"""One pass: due feeds -> poll -> fetch -> extract -> tag groups -> index -> commit feed state -> match ->
create alerts -> deliver -> add NER entities.

Each step is a function of its own so the Airflow DAG can run them as separate tasks, and ``run_pass`` runs
them in order for the CLI. The invariants of design.md hold across any crash:

- feed state is saved only for feeds whose new articles are all durably indexed (invariant 2);
- alerts are found from the index since a checkpoint, created with ``op_type=create`` and delivered from an
  outbox, so a pass killed anywhere and run again alerts and delivers each (watch, article) once (3);
- tracked-group alerts do not wait for statistical NER: articles are indexed with their gazetteer tags
  (``ner_done: false``), alerted on, and completed with entities afterwards, including any a crash left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wirewatch.documents import article_document, entity_update
from wirewatch.runtime import Runtime
from wirewatch.summary import PassSummary

if TYPE_CHECKING:
    from enrich.tagger import Tagger
    from ingest.collect import IngestBatch
    from ingest.feeds import FeedSpec
    from ingest.fetch import Fetcher
    from ingest.pool import ExtractPool

log = logging.getLogger("wirewatch.pipeline")


@dataclass
class PassTools:
    """The expensive objects of a pass (HTTP pool, extraction and NER processes), kept across passes."""

    fetcher: Fetcher
    pool: ExtractPool
    tagger: Tagger


def make_tagger(rt: Runtime, *, ner: bool | None = None) -> Tagger:
    """The tagger from the settings; ``ner=False`` for one that only matches tracked groups (no model load)."""
    from enrich.tagger import Tagger

    s = rt.settings
    return Tagger(
        watchlist=rt.watchlist(),
        model=s.ner_model,
        batch_size=s.ner_batch_size,
        ner=s.ner_enabled if ner is None else ner,
        workers=s.ner_workers,
    )


@contextmanager
def open_tools(rt: Runtime, *, ner: bool | None = None) -> Iterator[PassTools]:
    from ingest.fetch import Fetcher
    from ingest.pool import ExtractPool

    s = rt.settings
    tagger = make_tagger(rt, ner=ner)
    with (
        Fetcher(rt.fetch_policy()) as fetcher,
        ExtractPool(workers=s.extract_workers, deadline_s=s.extract_deadline_s) as pool,
        tagger,
    ):
        yield PassTools(fetcher=fetcher, pool=pool, tagger=tagger)


# --- set-up steps ---------------------------------------------------------------------------------------
def ensure_indices(rt: Runtime) -> dict[str, Any]:
    """Create or migrate every index (idempotent)."""
    from search.alert_indices import setup_alert_indices
    from search.indices import setup_indices

    report = setup_indices(rt.es, rt.names).as_dict()
    report["alert_indices_created"] = setup_alert_indices(rt.es, rt.names)
    return report


def sync_watches(rt: Runtime, channel_names: Sequence[str]) -> dict[str, Any]:
    """One watch per tracked group of the watchlist, routed to every configured channel."""
    from search.watches import sync_group_watches

    groups = [{"id": g.id, "name": g.name} for g in rt.watchlist()]
    report = sync_group_watches(rt.es, rt.names, groups, channels=list(channel_names))
    return {"created": report.created, "updated": report.updated, "disabled": report.disabled}


def due_feeds(rt: Runtime, now: datetime | None = None) -> list[FeedSpec]:
    """The feeds whose next poll time has come (a new feed is always due)."""
    from ingest.state import load_states
    from search.feedstate import EsFeedStateStore

    feeds = rt.feeds()
    states = load_states(EsFeedStateStore(rt.es, rt.names), [f.id for f in feeds])
    now = now or datetime.now(UTC)
    return [f for f in feeds if (states.get(f.id) is None or states[f.id].is_due(now))]


# --- ingest: poll, fetch, extract, tag groups, index, commit ----------------------------------------------
def ingest_feeds(
    rt: Runtime,
    tools: PassTools,
    feeds: Sequence[FeedSpec],
    summary: PassSummary,
    *,
    now: datetime | None = None,
    only_due: bool = True,
) -> list[str]:
    """Ingest ``feeds``; returns the ids of the articles durably written. Feed and page faults are recorded
    in ``summary``; only an unreachable Elasticsearch raises (and then no feed state has moved)."""
    from ingest.collect import CollectOptions, collect
    from ingest.state import load_states
    from search.bulk import index_articles
    from search.feedstate import EsFeedStateStore
    from search.known import existing_ids

    s = rt.settings
    store = EsFeedStateStore(rt.es, rt.names)
    now = now or datetime.now(UTC)
    with summary.timed("poll_fetch_extract"):
        batch = collect(
            feeds,
            load_states(store, [f.id for f in feeds]),
            fetcher=tools.fetcher,
            pool=tools.pool,
            known_ids=lambda ids: existing_ids(rt.es, rt.names, ids),
            now=now,
            options=CollectOptions(
                max_entries=s.feed_max_entries,
                min_chars=s.extract_min_chars,
                max_backoff_s=s.feed_max_backoff_s,
                only_due=only_due,
            ),
        )
    with summary.timed("tag_groups"):
        tags = tools.tagger.tag_groups([a.text for a in batch.articles], [a.language for a in batch.articles])
    docs = [article_document(a, t) for a, t in zip(batch.articles, tags, strict=True)]
    with summary.timed("index"):
        report = index_articles(
            rt.es,
            rt.names,
            docs,
            chunk_docs=s.es_bulk_chunk_docs,
            chunk_bytes=s.es_bulk_chunk_bytes,
            max_retries=s.es_max_retries,
        )
    written = set(report.durable)
    with summary.timed("commit_state"):
        store.save(batch.states_to_commit(written))
    _record_batch(summary, batch, written, report.failed)
    return sorted(written)


def _record_batch(summary: PassSummary, batch: IngestBatch, written: set[str], errors: dict[str, str]) -> None:
    for poll in batch.polls:
        summary.feeds[poll.status] += 1
        if poll.status == "failed":
            summary.fail("poll", poll.spec.id, poll.error or "failed", transient=True)
    if batch.not_due:
        summary.feeds["not_due"] += len(batch.not_due)
    summary.offered += batch.offered
    for outcome in batch.finish(written, errors):
        summary.entries[outcome.state] += 1
        if outcome.state == "skipped":
            summary.skipped_rules[(outcome.detail or "skipped").split(":")[0]] += 1
        elif outcome.state == "failed":
            summary.fail("entry", outcome.url, outcome.detail or "failed", transient=outcome.transient)


# --- alerts ---------------------------------------------------------------------------------------------
def raise_alerts(rt: Runtime, summary: PassSummary) -> None:
    """Match everything indexed since the checkpoint against every watch and create the alerts."""
    from search.reconcile import match_since_checkpoint

    with summary.timed("match"):
        report = match_since_checkpoint(rt.es, rt.names, dedup_window_s=rt.settings.alert_dedup_window_s)
    summary.alerts["matched_articles"] += report.articles
    summary.alerts["created"] += len(report.alerts.created)
    summary.alerts["already_existed"] += report.alerts.existing
    summary.alerts["attached_to_earlier"] += len(report.alerts.attached)
    for aid, reason in report.alerts.failed.items():
        summary.fail("match", aid, reason)


def deliver_alerts(rt: Runtime, summary: PassSummary, channels: dict[str, Any] | None = None) -> None:
    """Send every pending (alert, channel) that is due; record each outcome in the outbox."""
    from notify.deliver import deliver
    from notify.model import deliveries_from_docs
    from search.outbox import pending_deliveries, record_deliveries

    s = rt.settings
    owned = channels is None  # channels passed in belong to the caller, who closes them
    channels = channels if channels is not None else rt.channels()
    now = datetime.now(UTC)
    with summary.timed("deliver"):
        pending = deliveries_from_docs(pending_deliveries(rt.es, rt.names, now=now), now=now)
        try:
            outcomes = deliver(
                pending,
                channels,
                max_attempts=s.delivery_max_attempts,
                backoff_s=s.delivery_backoff_s,
                parallel=s.delivery_parallel,
            )
        finally:
            if owned:
                close_channels(channels)
        record_deliveries(rt.es, rt.names, outcomes)
    for outcome in outcomes:
        summary.deliveries[outcome.state] += 1
        if outcome.state != "delivered":
            summary.fail(
                "deliver",
                f"{outcome.alert_id}@{outcome.channel}",
                outcome.error or outcome.state,
                transient=outcome.state == "pending",
            )


def close_channels(channels: dict[str, Any]) -> None:
    for channel in channels.values():
        channel.close()


# --- NER, after the alerts ------------------------------------------------------------------------------
def add_entities(rt: Runtime, tagger: Tagger, summary: PassSummary, *, limit: int = 1000) -> int:
    """Add NER entities to articles indexed with group tags only (this pass's and any a crash left)."""
    from search.backlog import articles_missing_entities
    from search.bulk import update_entities

    if not tagger.ner:
        return 0
    with summary.timed("ner"):
        todo = articles_missing_entities(rt.es, rt.names, limit=limit)
        if not todo:
            return 0
        # the stored language (decided with the page's lang attribute) picks the NER model
        tags = tagger.tag([text for _, text, _ in todo], [language for _, _, language in todo])
        updates = {aid: entity_update(t) for (aid, _, _), t in zip(todo, tags, strict=True)}
        report = update_entities(rt.es, rt.names, updates, chunk_docs=rt.settings.es_bulk_chunk_docs)
    for aid, reason in report.failed.items():
        summary.fail("ner", aid, reason, transient=aid in report.transient)
    summary.entities_added += len(report.written)
    return len(report.written)


# --- the whole pass ---------------------------------------------------------------------------------------
def run_pass(
    rt: Runtime, tools: PassTools, *, only_due: bool = True, on_step: Callable[[str], None] | None = None
) -> PassSummary:
    """One complete pass. Never raises for bad input; an unreachable Elasticsearch makes it ``fatal``.

    ``on_step`` is told the name of each step as it starts (the CLI shows it as progress)."""
    step = on_step or (lambda name: None)
    from search.errors import SearchError
    from wirewatch.runtime import ConfigError

    summary = PassSummary()
    try:
        step("checking indices and watches")
        channels = rt.channels()
        try:
            with summary.timed("setup"):
                ensure_indices(rt)
                sync_watches(rt, list(channels))
            feeds = rt.feeds()
            size = max(1, rt.settings.feeds_per_batch)
            # Batch by batch: the first feeds' alerts go out before later feeds are fetched, and memory stays bounded.
            for start in range(0, len(feeds), size):
                end = min(start + size, len(feeds))
                step(f"polling feeds {start + 1}-{end} of {len(feeds)}, fetching, extracting, indexing")
                ingest_feeds(rt, tools, feeds[start : start + size], summary, only_due=only_due)
                step("matching watches and creating alerts")
                raise_alerts(rt, summary)
                step("delivering alerts")
                deliver_alerts(rt, summary, channels)
        finally:
            close_channels(channels)
        step("adding named entities")
        add_entities(rt, tools.tagger, summary)
    except (SearchError, ConfigError) as exc:
        log.error("pass stopped: %s", exc)
        summary.fatal = str(exc)
    summary.finished_at = datetime.now(UTC).timestamp()
    return summary
