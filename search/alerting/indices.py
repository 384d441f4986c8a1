"""Indices of the alerting side: watches, alerts (the outbox) and the matching checkpoint.

Mappings are strict, so a typo in a field name fails loudly instead of growing the mapping. Setup is
idempotent (``setup_alert_indices`` any number of times; new fields are added in place).
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.indices import ensure_plain_index
from search.mappings import checkpoints_mappings
from search.names import IndexNames

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
_LONG_KEYWORD = {"type": "keyword", "ignore_above": 2048}


def watches_mappings() -> dict[str, Any]:
    """One document per watch; ``query`` is the compiled ES query, stored but never indexed."""
    return {
        "dynamic": "strict",
        "properties": {
            "id": _KEYWORD,
            "name": _KEYWORD,
            "name_key": _KEYWORD,  # the name lower-cased: names are unique regardless of case
            "kind": _KEYWORD,  # "group" or "query"
            "group_id": _KEYWORD,
            "group_name": _KEYWORD,
            "query_text": _LONG_KEYWORD,
            "query": {"type": "object", "enabled": False},
            "channels": _KEYWORD,
            "created_at": _DATE,
            "updated_at": _DATE,
            "enabled": {"type": "boolean"},
            "snoozed_until": _DATE,
        },
    }


def alerts_mappings() -> dict[str, Any]:
    """One document per (watch, story); ``deliveries`` holds the per-channel state of the outbox."""
    return {
        "dynamic": "strict",
        "properties": {
            "id": _KEYWORD,
            "watch": {"properties": {"id": _KEYWORD, "name": _KEYWORD, "kind": _KEYWORD}},
            "group": {"properties": {"id": _KEYWORD, "name": _KEYWORD}},
            "article_id": _KEYWORD,
            "story_id": _KEYWORD,  # one alert per (watch, story): later copies go to also_seen
            "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
            "url": _LONG_KEYWORD,
            "source": _KEYWORD,
            "published_at": _DATE,
            "indexed_at": _DATE,
            "content_hash": _KEYWORD,
            "surface_forms": _KEYWORD,
            "passage": {"type": "text", "index": False},
            "created_at": _DATE,
            # set on a same-story copy: the alert it joined (such documents are never delivered)
            "attached_to": _KEYWORD,
            # set when NER joined the alert's article to another language's story already alerted on for
            # the watch: the earlier alert (its undelivered channels become ``suppressed``, never sent)
            "suppressed_by": _KEYWORD,
            "also_seen": {
                "properties": {
                    "article_id": _KEYWORD,
                    "url": _LONG_KEYWORD,
                    "source": _KEYWORD,
                    "seen_at": _DATE,
                }
            },
            # a spike alert (watch.kind "spike", search/alerting/spikes.py): the day's numbers
            "spike": {
                "properties": {
                    "group_id": _KEYWORD,
                    "day": _KEYWORD,
                    "count": {"type": "integer"},
                    "mean": {"type": "float"},
                    "std": {"type": "float"},
                    "threshold": {"type": "float"},
                    "k": {"type": "float"},
                    "min_count": {"type": "integer"},
                    "window_days": {"type": "integer"},
                }
            },
            # an event watch's alert (search/alerting/eventwatch.py): the event it stands for
            "event": {
                "properties": {
                    "type": _KEYWORD,
                    "subtype": _KEYWORD,
                    "actor_ids": _KEYWORD,
                    "actors": _KEYWORD,
                    "place": {"properties": {"id": _KEYWORD, "name": _KEYWORD, "country": _KEYWORD}},
                    "date": _DATE,
                    "fatalities": {"type": "integer"},
                    "wounded": {"type": "integer"},
                    "claim": _KEYWORD,
                    "sentence": {"type": "text", "index": False},
                    "language": _KEYWORD,
                }
            },
            "deliveries": {
                "type": "nested",
                "properties": {
                    "channel": _KEYWORD,
                    "state": _KEYWORD,  # pending | sending | delivered | failed | unconfigured | suppressed
                    "attempts": {"type": "integer"},
                    "delivered_at": _DATE,
                    "last_error": _LONG_KEYWORD,
                    "next_attempt_at": _DATE,
                    "updated_at": _DATE,
                    # while ``sending``: the runner that claimed it, and when the claim lapses (a crash)
                    "claimed_by": _KEYWORD,
                    "claim_expires_at": _DATE,
                },
            },
        },
    }


def setup_alert_indices(es: Elasticsearch, names: IndexNames) -> list[str]:
    """Create the watches, alerts and checkpoints indices when missing; returns the names created."""
    created: list[str] = []
    wanted = (
        (names.watches, watches_mappings()),
        (names.alerts, alerts_mappings()),
        (names.checkpoints, checkpoints_mappings()),
    )
    with es_errors("setting up the alert indices"):
        for index, mappings in wanted:
            if ensure_plain_index(es, index, mappings):
                created.append(index)
    return created
