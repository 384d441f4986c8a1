"""The engine's limits, read once from the settings (the stages take plain numbers): the engine's only reader
of ``Settings``."""

from __future__ import annotations

from dataclasses import dataclass

from wirewatch.settings import Settings


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    # feeds and entries
    max_entries: int = 100
    max_parse_entries: int = 500
    gone_after_404s: int = 3
    min_chars: int = 250
    max_backoff_s: int = 6 * 3600
    max_extract_attempts: int = 3
    # concurrency and the queues between stages (memory is bounded by these, not by the pass)
    http_connections: int = 20
    http_per_host: int = 4  # requests at once to one host, per stage (polls, pages)
    page_queue: int = 64
    extract_queue: int = 16
    write_queue: int = 256
    ner_queue: int = 256
    fetch_ahead: int = 8  # pages fetched (or being fetched, while young), not yet in a write; 0: no bound
    fetch_slow_s: float = 0.5  # a fetch running longer stops counting against fetch_ahead
    # the bulk writer flushes on size or age
    flush_docs: int = 200
    flush_bytes: int = 5_000_000
    flush_age_s: float = 0.25
    bulk_max_retries: int = 3
    bulk_backoff_s: float = 0.5  # between a bulk item's retries (429, 503), doubling
    bulk_max_backoff_s: float = 30.0
    # alerts and NER
    dedup_window_s: float = 48 * 3600
    alert_max_age_s: float | None = None  # an article published longer before its fetch raises no alert
    ner_batch: int = 8  # articles per NER task (one process's batch)
    ner_consumers: int = 3  # threads feeding the NER processes: one more than there are processes
    outbox_batch: int = 500
    story_language_days: int = 3  # reports in other languages published this many days apart join one story
    # while matching is refused (429) or held by an outage: bounds on what waits in memory for it
    match_waiting_max: int = 5000  # article ids waiting for the matcher; beyond, the reconcile matches them
    match_retry_max_s: float = 30.0  # cap on the backoff before refused articles are matched again
    unsearchable_max: int = 2000  # story members the writer keeps until a refresh; beyond, the writer refreshes
    # time
    pass_deadline_s: float | None = None  # unfinished feeds are abandoned after it (state not committed)
    es_patience_s: float | None = 120.0  # an outage longer than this ends a pass; None: wait (the service)
    es_max_backoff_s: float = 30.0

    @classmethod
    def from_settings(cls, s: Settings, **overrides: object) -> EngineOptions:
        values: dict[str, object] = dict(
            max_entries=s.feed_max_entries,
            max_parse_entries=s.feed_max_parse_entries,
            gone_after_404s=s.feed_gone_after_404s,
            min_chars=s.extract_min_chars,
            max_backoff_s=s.feed_max_backoff_s,
            max_extract_attempts=s.extract_max_attempts,
            http_connections=max(1, s.http_max_connections),
            http_per_host=max(1, s.http_max_per_host),
            page_queue=max(8, 4 * s.http_max_connections),
            # pages wait unfetched rather than fetched: a fetched page is extracted (and alerted) at once
            extract_queue=max(2, s.extract_workers),
            # extracted articles wait here for the writer: kept short, so a burst of pages waits unfetched
            # (its alert clock not yet started) rather than extracted behind hundreds of others
            write_queue=max(16, 4 * s.extract_workers),
            # a burst waits unfetched (its alert clock not started) rather than fetched and queued
            fetch_ahead=4 * max(1, s.extract_workers) if s.engine_fetch_ahead is None else s.engine_fetch_ahead,
            ner_queue=max(16, 4 * s.ner_batch_size * max(1, s.ner_workers)),
            flush_docs=s.es_bulk_chunk_docs,
            flush_bytes=s.es_bulk_chunk_bytes,
            flush_age_s=s.engine_flush_age_s,
            bulk_max_retries=s.es_max_retries,
            bulk_backoff_s=s.es_backoff_s,
            bulk_max_backoff_s=s.es_max_backoff_s,
            story_language_days=s.story_language_days,
            dedup_window_s=float(s.alert_dedup_window_s),
            alert_max_age_s=s.alert_max_age_s,
            ner_batch=max(1, s.ner_batch_size),
            ner_consumers=max(1, s.ner_workers) + 1,
            pass_deadline_s=s.pass_deadline_s,
            es_patience_s=s.es_outage_patience_s,
            es_max_backoff_s=s.es_outage_max_backoff_s,
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
