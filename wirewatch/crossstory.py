"""The cross-language story join in the NER phase (the events exist only once NER has run).

An article whose MinHash lookup found no story (its story id is its own id) and whose events name a resolved
place looks for reports in other languages by signals (``search.crossstory.signal_candidates``) and joins
the story of the earliest agreeing one (``enrich.crossstory``). Articles of the same NER batch are candidates
for each other too, in publication order, since their events are not indexed yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from enrich.crossstory import Report, day_of, signals_of, story_to_join

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from search.names import IndexNames
    from search.reuse import Pending


def cross_language_stories(
    es: Elasticsearch,
    names: IndexNames,
    todo: Sequence[Pending],
    updates: Mapping[str, Mapping[str, Any]],
    *,
    window_days: int,
) -> dict[str, dict[str, Any]]:
    """{article id: {"story_id", "story_first_seen"}} for the articles of ``todo`` that join another
    language's story; ``updates`` are their entity fields (with ``events``)."""
    batch: list[Report] = []
    joined: dict[str, dict[str, Any]] = {}
    for pending in sorted(todo, key=lambda p: (p.published_at or "9999", p.id)):
        report = _report(pending, updates.get(pending.id, {}))
        if report is None:
            continue
        if pending.story_id == pending.id and report.signals and report.published is not None:
            target = story_to_join(report, [*_indexed(es, names, report, window_days), *batch], window_days=window_days)
            if target is not None:
                joined[pending.id] = {"story_id": target.story_id, "story_first_seen": target.story_first_seen}
                report = Report(
                    article_id=report.article_id, story_id=target.story_id, story_first_seen=target.story_first_seen,
                    language=report.language, published=report.published, signals=report.signals,
                )  # fmt: skip
        batch.append(report)
    return joined


def _report(pending: Pending, fields: Mapping[str, Any]) -> Report | None:
    if not pending.story_id:
        return None
    return Report(
        article_id=pending.id, story_id=pending.story_id, story_first_seen=pending.story_first_seen,
        language=pending.language, published=day_of(pending.published_at),
        signals=signals_of(fields.get("events") or ()),
    )  # fmt: skip


def _indexed(es: Elasticsearch, names: IndexNames, report: Report, window_days: int) -> list[Report]:
    from search.crossstory import signal_candidates

    if report.published is None:
        return []
    found = signal_candidates(
        es, names, [s.place_id for s in report.signals], report.published, window_days=window_days,
        language=report.language, exclude=[report.article_id],
    )  # fmt: skip
    return [
        Report(
            article_id=c.article_id,
            story_id=c.story_id,
            story_first_seen=c.story_first_seen,
            language=c.language,
            published=day_of(c.published_at),
            signals=signals_of(c.events),
        )
        for c in found
    ]
