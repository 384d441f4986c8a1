"""Match new articles and create their alerts, with a checkpoint so an outage loses nothing.

A checkpoint document (``names.checkpoints``, id ``alerts-matching``) records the ``indexed_at`` up to which
articles were matched. ``match_since_checkpoint`` matches every article indexed since (minus an overlap, for
writes that were in flight and not yet searchable when the checkpoint moved), creates the alerts and only
then advances the checkpoint. A crash or an Elasticsearch outage anywhere in between leaves the checkpoint
behind, so the next call matches those articles again; alerts already created are recognised (``op_type
create`` conflicts) and counted as existing, never raised twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from search.alerting.alerts import CreateReport, CreationClaim, create_alerts
from search.alerting.matching import Match, match_articles
from search.alerting.snooze import awake
from search.alerting.watches import Watch, list_watches
from search.client import es_errors
from search.errors import MatchingRefused
from search.names import IndexNames

CHECKPOINT_ID = "alerts-matching"
BATCH_ARTICLES = 500


@dataclass(kw_only=True)
class MatchReport:
    articles: int = 0  # articles looked at (new since the checkpoint, plus the overlap)
    matches: int = 0
    alerts: CreateReport = field(default_factory=CreateReport)
    checkpoint: str | None = None  # where the checkpoint stands afterwards

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "matches": self.matches,
            "checkpoint": self.checkpoint,
            **self.alerts.as_dict(),
        }


def read_checkpoint(es: Elasticsearch, names: IndexNames) -> str | None:
    """The ``indexed_at`` matched up to, or None before the first pass."""
    with es_errors("reading the matching checkpoint"):
        try:
            doc = es.get(index=names.checkpoints, id=CHECKPOINT_ID)
        except NotFoundError:
            return None
    position = doc["_source"].get("position") or {}
    value = position.get("indexed_at")
    return str(value) if value else None


def _write_checkpoint(es: Elasticsearch, names: IndexNames, indexed_at: str) -> None:
    doc = {
        "name": CHECKPOINT_ID,
        "updated_at": datetime.now(UTC).isoformat(),
        "position": {"indexed_at": indexed_at},
    }
    with es_errors("advancing the matching checkpoint"):
        es.index(index=names.checkpoints, id=CHECKPOINT_ID, document=doc)  # read back by get: realtime


def alert_on_articles(
    es: Elasticsearch,
    names: IndexNames,
    article_ids: Sequence[str],
    *,
    watches: Sequence[Watch] | None = None,
    dedup_window_s: float = 48 * 3600,
    max_age_s: float | None = None,
    claim: CreationClaim | None = None,
) -> CreateReport:
    """Match ``article_ids`` (just written, and searchable: refresh first) and create their alerts. Articles
    the node refused to match (429, after retries) are in the report's ``refused``; what the other searches
    found is alerted on all the same. With ``claim``, the new alerts are created with their deliveries
    claimed and listed in ``claimed``, for the caller to send without reading the outbox."""
    if watches is None:
        watches = awake(list_watches(es, names, enabled_only=True), datetime.now(UTC))
    matches, refused = _matched(es, names, article_ids, watches)
    report = create_alerts(es, names, matches, dedup_window_s=dedup_window_s, max_age_s=max_age_s, claim=claim)
    report.refused = refused
    return report


def _matched(
    es: Elasticsearch, names: IndexNames, article_ids: Sequence[str], watches: Sequence[Watch]
) -> tuple[list[Match], list[str]]:
    """The matches, and the articles the node refused to match (their matches are incomplete)."""
    try:
        return match_articles(es, names, article_ids, watches), []
    except MatchingRefused as exc:
        return [m for m in exc.matches if isinstance(m, Match)], exc.article_ids


def match_since_checkpoint(
    es: Elasticsearch,
    names: IndexNames,
    *,
    dedup_window_s: float = 48 * 3600,
    max_age_s: float | None = None,
    overlap_s: float = 120.0,
    refresh: bool = True,
    batch_articles: int = BATCH_ARTICLES,
) -> MatchReport:
    """Match everything indexed since the checkpoint, batch by batch, advancing it after each batch's alerts.

    ``refresh`` makes articles written just before visible first (one refresh of the articles alias).
    Raises SearchUnavailable when Elasticsearch fails midway; the checkpoint then stays where the last
    complete batch left it.
    """
    if refresh:
        with es_errors("refreshing articles before matching"):
            es.indices.refresh(index=names.articles)
    checkpoint = read_checkpoint(es, names)
    report = MatchReport(checkpoint=checkpoint)
    watches = awake(list_watches(es, names, enabled_only=True), datetime.now(UTC))
    for ids, last_indexed_at in _batches_since(es, names, checkpoint, overlap_s, batch_articles):
        matches, refused = _matched(es, names, ids, watches)
        created = create_alerts(es, names, matches, dedup_window_s=dedup_window_s, max_age_s=max_age_s)
        created.refused = refused
        report.articles += len(ids)
        report.matches += len(matches)
        _merge(report.alerts, created)
        if created.failed or refused:
            break  # a mapping problem needs a person; refused articles are matched again: do not move past them
        if checkpoint is None or _parse(last_indexed_at) > _parse(checkpoint):
            _write_checkpoint(es, names, last_indexed_at)
            checkpoint = last_indexed_at
            report.checkpoint = checkpoint
    return report


def _batches_since(
    es: Elasticsearch, names: IndexNames, checkpoint: str | None, overlap_s: float, size: int
) -> Iterator[tuple[list[str], str]]:
    """Yield (article ids, largest indexed_at among them) in indexed_at order, with search_after paging."""
    query: dict[str, Any] = {"match_all": {}}
    if checkpoint is not None:
        start = _parse(checkpoint) - timedelta(seconds=overlap_s)
        query = {"range": {"indexed_at": {"gte": start.isoformat()}}}
    after: list[Any] | None = None
    while True:
        kwargs: dict[str, Any] = {"search_after": after} if after else {}
        with es_errors("listing articles to match"):
            found = es.search(
                index=names.articles, query=query, size=size, source_includes=["indexed_at"],
                sort=[{"indexed_at": "asc"}, {"id": "asc"}], track_total_hits=False, **kwargs,
            )  # fmt: skip
        hits = found["hits"]["hits"]
        if not hits:
            return
        yield [h["_id"] for h in hits], str(hits[-1]["_source"]["indexed_at"])
        after = hits[-1]["sort"]


def _merge(total: CreateReport, part: CreateReport) -> None:
    total.created += part.created
    total.existing += part.existing
    total.attached += part.attached
    total.failed.update(part.failed)
    total.refused += part.refused
    total.too_old += part.too_old


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
