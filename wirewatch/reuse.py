"""The NER phase with reuse: an article whose text equals one already tagged (same content hash) takes its
entities; of several identical texts in one batch only the first is tagged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from wirewatch.documents import entity_update

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from enrich.tagger import Tagger
    from search.names import IndexNames
    from search.reuse import Pending


@dataclass
class EntityPlan:
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)  # article id -> entity fields
    tagged: int = 0  # articles that went through NER
    reused: int = 0  # articles that took the entities of an identical text
    joined: int = 0  # articles that joined another language's story by their events
    stories: dict[str, str] = field(default_factory=dict)  # article id -> the other-language story it joined


def entity_updates(
    es: Elasticsearch, names: IndexNames, tagger: Tagger, todo: list[Pending], *, story_days: int | None = None
) -> EntityPlan:
    """The entity fields of ``todo``; with ``story_days`` (the cross-language window), an article whose
    events agree with another language's report within that many days joins its story too."""
    from search.reuse import entities_by_content_hash
    from wirewatch.crossstory import cross_language_stories

    plan = EntityPlan()
    known = entities_by_content_hash(es, names, [p.content_hash for p in todo if p.content_hash])
    first_of: dict[str, Pending] = {}  # content hash -> the article of this batch that NER runs on
    to_tag: list[Pending] = []
    later: list[Pending] = []
    for pending in todo:
        if pending.content_hash and pending.content_hash in known:
            plan.updates[pending.id] = {**known[pending.content_hash], "ner_done": True}
            plan.reused += 1
        elif pending.content_hash and pending.content_hash in first_of:
            later.append(pending)
        else:
            if pending.content_hash:
                first_of[pending.content_hash] = pending
            to_tag.append(pending)
    # the language was identified when the article was written: the model is picked by it, not by a new guess
    texts = [p.text for p in to_tag]
    days = [publication_day(p.published_at) for p in to_tag]
    tags = tagger.add_entities(texts, tagger.groups_of(texts, [p.language for p in to_tag]), days)
    for pending, tag in zip(to_tag, tags, strict=True):
        plan.updates[pending.id] = entity_update(tag)
    plan.tagged = len(to_tag)
    for pending in later:
        plan.updates[pending.id] = plan.updates[first_of[str(pending.content_hash)].id]
        plan.reused += 1
    if story_days is not None:
        for aid, story in cross_language_stories(es, names, todo, plan.updates, window_days=story_days).items():
            plan.updates[aid] = {**plan.updates[aid], **story}
            plan.stories[aid] = str(story["story_id"])
            plan.joined += 1
    return plan


def settle_story_alerts(es: Elasticsearch, names: IndexNames, plan: EntityPlan, written: Iterable[str]) -> int:
    """Once the joins are written: the alerts the joined articles raised before NER follow their new story,
    and those of a story already alerted on for the same watch are not sent (``search.alerting.storyjoin``).
    Returns how many alerts were suppressed."""
    from search.alerting.storyjoin import settle_joined

    done = set(written)
    joined = {aid: story for aid, story in plan.stories.items() if aid in done}
    return len(settle_joined(es, names, joined).suppressed) if joined else 0


def publication_day(published_at: str | None) -> date | None:
    """The publication day of a stored ISO timestamp (None when missing or unreadable)."""
    try:
        return datetime.fromisoformat(published_at).date() if published_at else None
    except ValueError:
        return None
