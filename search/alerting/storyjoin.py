"""The alerts of a report that joined another language's story after NER: one alert per story, per watch.

Watches match an article as soon as it is written, before NER (group alerts never wait for it); the
cross-language join (``wirewatch/crossstory.py``) happens in the NER phase, later. So the English report of a
kidnapping first alerted on in French raises an alert of its own: when it matched, its story was its own id.
When NER joins it to the French story, ``settle_joined`` looks, for each alert of the joined article, for the
earliest other alert of the same watch on that story:

- found: the later alert's channels not yet sent (``pending``, ``unconfigured``) become ``suppressed`` and are
  never sent; ``suppressed_by`` names the earlier alert, which lists the article in its ``also_seen``. The
  alert stays in the inbox (so the analyst sees the other-language report and why nothing was sent). A channel
  already sent, or being sent (``sending``: claimed by a runner), is left as it is: a message cannot be taken
  back, and a claim is only ever settled by its runner (exactly-once delivery);
- not found: the alert is the story's first for that watch; its ``story_id`` becomes the joined story, so the
  next report of the story is recognised.

Every change is a compare-and-set on the alert's ``_seq_no``, as in the outbox, so a claim taken meanwhile wins.
Settling again is a no-op: an alert already on the story is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch

from search.alerting.alerts import add_also_seen
from search.client import es_errors
from search.errors import SearchUnavailable
from search.names import IndexNames

UNSENT = frozenset({"pending", "unconfigured"})
_CAS_TRIES = 5
_OLDEST_FIRST: list[dict[str, Any]] = [{"created_at": "asc"}, {"id": "asc"}]
_MAX_ALERTS = 10_000  # alerts of one NER batch's joined articles (a batch is at most a few hundred articles)


@dataclass(kw_only=True)
class JoinReport:
    suppressed: list[str] = field(default_factory=list)  # alerts whose unsent channels were suppressed
    moved: list[str] = field(default_factory=list)  # alerts that became the first of their joined story


def settle_joined(
    es: Elasticsearch, names: IndexNames, joined: Mapping[str, str], *, now: datetime | None = None
) -> JoinReport:
    """Settle the alerts of the articles in ``joined`` ({article id: the story it joined})."""
    report = JoinReport()
    if not joined:
        return report
    stamp = (now or datetime.now(UTC)).isoformat()
    first = _first_alerts(es, names, sorted(set(joined.values())))
    for alert in _alerts_of(es, names, sorted(joined)):
        story = joined[str(alert["article_id"])]
        if alert.get("story_id") == story:
            continue  # settled already (or the story's own first alert)
        key = (str(alert["watch"]["id"]), story)
        earlier = first.get(key)
        _change(es, names, str(alert["id"]), story, earlier, stamp)
        if earlier is None:
            first[key] = str(alert["id"])
            report.moved.append(str(alert["id"]))
            continue
        add_also_seen(es, names, earlier, _copy_entry(alert, stamp))
        report.suppressed.append(str(alert["id"]))
    return report


def _suppress(doc: dict[str, Any], earlier: str, stamp: str) -> None:
    unsent = [e for e in doc.get("deliveries") or () if e.get("state") in UNSENT]
    if unsent or not doc.get("deliveries"):
        doc["suppressed_by"] = earlier
    for entry in unsent:
        entry.update(state="suppressed", updated_at=stamp, last_error=f"same story as alert {earlier}: not sent")
        entry.pop("next_attempt_at", None)


def _copy_entry(alert: Mapping[str, Any], stamp: str) -> dict[str, Any]:
    return {"article_id": alert["article_id"], "url": alert.get("url"), "source": alert.get("source"),
            "seen_at": stamp}  # fmt: skip


def _change(es: Elasticsearch, names: IndexNames, aid: str, story: str, earlier: str | None, stamp: str) -> None:
    """Move the alert to ``story`` (and suppress what it has not sent when ``earlier`` is the story's alert):
    read, change, write if unchanged since, so a claim or a record written meanwhile is read again."""
    for _ in range(_CAS_TRIES):
        with es_errors("moving an alert to its cross-language story"):
            current = es.get(index=names.alerts, id=aid)
            doc = current["_source"]
            doc["story_id"] = story
            if earlier is not None:
                _suppress(doc, earlier, stamp)
            try:
                es.index(
                    index=names.alerts, id=aid, document=doc, refresh=True,
                    if_seq_no=current["_seq_no"], if_primary_term=current["_primary_term"],
                )  # fmt: skip
                return
            except ConflictError:
                continue
    raise SearchUnavailable(f"alert {aid} kept changing while moving it to its cross-language story")


def _alerts_of(es: Elasticsearch, names: IndexNames, article_ids: list[str]) -> list[dict[str, Any]]:
    """The alerts (not same-story copies) raised for these articles, oldest first."""
    query = {"bool": {"filter": [{"terms": {"article_id": article_ids}}],
                      "must_not": [{"exists": {"field": "attached_to"}}]}}  # fmt: skip
    with es_errors("reading the alerts of articles that joined a story"):
        found = es.search(index=names.alerts, query=query, size=_MAX_ALERTS, sort=_OLDEST_FIRST)
    return [hit["_source"] for hit in found["hits"]["hits"]]


def _first_alerts(es: Elasticsearch, names: IndexNames, stories: list[str]) -> dict[tuple[str, str], str]:
    """{(watch id, story id): the earliest alert of that watch on that story that was not suppressed}."""
    skip = [{"exists": {"field": "attached_to"}}, {"exists": {"field": "suppressed_by"}}]
    query = {"bool": {"filter": [{"terms": {"story_id": stories}}], "must_not": skip}}
    with es_errors("reading the first alerts of joined stories"):
        found = es.search(
            index=names.alerts, query=query, size=_MAX_ALERTS, sort=_OLDEST_FIRST,
            source_includes=["id", "watch.id", "story_id"],
        )  # fmt: skip
    first: dict[tuple[str, str], str] = {}
    for hit in found["hits"]["hits"]:
        src = hit["_source"]
        first.setdefault((str(src["watch"]["id"]), str(src["story_id"])), str(src["id"]))
    return first
