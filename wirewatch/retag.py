"""``wirewatch retag``: indexed articles tagged again with today's tagger and watchlist.

Articles indexed before places and events were resolved have none; a watchlist change (a new alias, a new
group) leaves older articles' group tags stale. A re-tag scans the articles (search/rescan.py), runs the
tagger on each article's stored text with its stored language and publication day (the same calls as the NER
phase, wirewatch/reuse.py), and writes only the tag fields that changed: a second run over unchanged articles
writes nothing. The text, the story and the dates are never touched, and no alert is raised (alerts come from
new articles being indexed; a re-tag only updates tags in place).

The checkpoint is a small JSON file (under run/ by default), written after each batch is durably sent, so
``--resume`` after a kill goes on after the last batch written: each article is written once more at most.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wirewatch.documents import bounded_document, entity_update
from wirewatch.reuse import publication_day

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from enrich.tagger import Tagger
    from search.names import IndexNames

_READ = ["text", "language", "published_at", "entities", "entity_names", "events", "places", "place_ids",
         "place_countries", "ner_done", "ner_model", "ner_skipped", "groups", "group_ids"]  # fmt: skip
_NER_ONLY = ("entities", "entity_names", "ner_done", "ner_model", "ner_skipped")


class RetagStateError(Exception):
    """The checkpoint file cannot be used for ``--resume`` (missing, finished, or for other filters)."""


@dataclass
class RetagSummary:
    scanned: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # article id -> reason
    total: int = 0  # matching articles when the scan started
    dry_run: bool = False
    resumed_after: str | None = None  # the last article id of the run resumed

    def as_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": len(self.failed),
            "failures": self.failed,
            "total": self.total,
            "dry_run": self.dry_run,
            "resumed_after": self.resumed_after,
        }


@dataclass(frozen=True)
class RetagState:
    """The checkpoint file: the scan's filters and where it is."""

    path: Path

    def load(self, query: dict[str, Any]) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RetagStateError(f"no re-tag to resume ({self.path} does not exist)") from exc
        except (OSError, ValueError) as exc:
            raise RetagStateError(f"cannot read the checkpoint {self.path}: {exc}") from exc
        if state.get("done"):
            raise RetagStateError(f"the re-tag recorded in {self.path} finished")
        if state.get("query") != query:
            raise RetagStateError(f"the re-tag recorded in {self.path} was for other filters")
        return state

    def save(self, data: dict[str, Any]) -> None:
        """Write atomically: a kill leaves the previous checkpoint or this one, never half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)


def retag(
    es: Elasticsearch,
    names: IndexNames,
    tagger: Tagger,
    query: dict[str, Any],
    *,
    batch: int,
    state: RetagState,
    resume: bool = False,
    dry_run: bool = False,
    on_batch: Callable[[RetagSummary], None] | None = None,
) -> RetagSummary:
    """Re-tag the articles matching ``query``; ``on_batch`` sees the summary after each batch."""
    from search.rescan import Checkpoint, count_articles, scan_articles, update_tags

    start = Checkpoint.from_dict(state.load(query)["checkpoint"]) if resume else None
    summary = RetagSummary(dry_run=dry_run, resumed_after=start.last_id if start else None)
    summary.total = count_articles(es, names, query)
    pages = scan_articles(es, names, query, page_size=batch, source_includes=_READ, start=start)
    for page in pages:
        summary.scanned += len(page.hits)
        changes = {hit["_id"]: changed for hit, changed in zip(page.hits, _changes(tagger, page.hits), strict=True)}
        updates = {aid: fields for aid, fields in changes.items() if fields}
        summary.unchanged += len(changes) - len(updates)
        if dry_run:
            summary.updated += len(updates)
        else:
            report = update_tags(es, names, updates) if updates else None
            summary.updated += len(report.written) if report else 0
            summary.failed.update(report.failed if report else {})
            state.save({"query": query, "checkpoint": page.checkpoint.to_dict(), "done": False})
        if on_batch is not None:
            on_batch(summary)
    if not dry_run:
        state.save({"query": query, "checkpoint": None, "done": True})
    return summary


def _changes(tagger: Tagger, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each hit, the tag fields whose new value differs from the stored one (empty: nothing to write)."""
    sources = [hit["_source"] for hit in hits]
    texts = [src.get("text") or "" for src in sources]
    days = [publication_day(src.get("published_at")) for src in sources]
    tags = tagger.add_entities(texts, tagger.groups_of(texts, [src.get("language") for src in sources]), days)
    out = []
    for src, tag in zip(sources, tags, strict=True):
        data = tag.to_dict()
        fields = {**entity_update(tag), **bounded_document({"groups": data["groups"], "group_ids": data["group_ids"]})}
        if not tagger.ner:  # NER is off here: the entities found when it ran are kept, not emptied
            fields = {key: value for key, value in fields.items() if key not in _NER_ONLY}
        fresh = json.loads(json.dumps(fields, default=str))  # as stored: dates as strings, tuples as lists
        out.append({key: value for key, value in fresh.items() if not _same(value, src.get(key))})
    return out


def _same(new: Any, stored: Any) -> bool:
    """An absent field equals an empty one: an article without places is not rewritten with ``places: []``."""
    if stored is None and new in ([], {}, None):
        return True
    return bool(new == stored)
