"""Index bodies: the articles mapping of docs/article-document.md, the feed-state and checkpoint indices.

The articles body carries a fingerprint of itself in ``_meta``; setup compares it with the live index to know
whether the mapping changed (and a new index version is needed) without keeping a version number by hand.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

ENTITY_TYPES = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT")

# Lucene refuses a term over 32,766 bytes, and Elasticsearch then refuses the whole document (400). ignore_above
# counts characters, at most 4 UTF-8 bytes each: 8,191 characters always fit. A longer value stays in _source.
KEYWORD_MAX_CHARS = 8191
_KEYWORD = {"type": "keyword", "ignore_above": KEYWORD_MAX_CHARS}
_DATE = {"type": "date"}
_NOT_INDEXED = {"type": "object", "enabled": False}  # kept in _source only (mention offsets, raw state)
_NOT_INDEXED_INT = {"type": "integer", "index": False, "doc_values": False}


# Language subfields of title and text: every article is analysed in each (the analyst's query may be in any
# of them, and the query searches across all); offsets make highlighting cheap.
LANGUAGE_SUBFIELDS = {"fr": "ww_french", "ar": "ww_arabic"}


def _analyzed_text(*, keyword: bool) -> dict[str, Any]:
    """English-analyzed text, French and Arabic subfields, an unstemmed ``.exact`` subfield."""
    fields: dict[str, Any] = {
        "exact": {"type": "text", "analyzer": "ww_exact", "index_options": "offsets"},
        **{
            lang: {"type": "text", "analyzer": analyzer, "index_options": "offsets"}
            for lang, analyzer in LANGUAGE_SUBFIELDS.items()
        },
    }
    if keyword:
        fields["keyword"] = {"type": "keyword", "ignore_above": 512}
    return {"type": "text", "analyzer": "ww_english", "index_options": "offsets", "fields": fields}


def articles_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "id": _KEYWORD,
            "url": _KEYWORD,
            "canonical_url": _KEYWORD,
            "source": _KEYWORD,
            "site_name": _KEYWORD,
            "title": _analyzed_text(keyword=True),
            "text": _analyzed_text(keyword=False),
            "description": {"type": "text", "analyzer": "ww_english"},
            "author": _KEYWORD,
            "published_at": _DATE,
            "fetched_at": _DATE,
            "indexed_at": _DATE,
            "language": _KEYWORD,
            "extraction": {"properties": {"method": _KEYWORD, "date_source": _KEYWORD, "date_set_aside": _KEYWORD}},
            "entities": {
                "properties": {
                    "type": _KEYWORD,
                    "canonical": _KEYWORD,
                    "surface_forms": _KEYWORD,
                    "count": {"type": "integer"},
                    "mentions": _NOT_INDEXED,
                }
            },
            "entity_names": {"properties": {t.lower(): _KEYWORD for t in ENTITY_TYPES}},
            "groups": {
                "properties": {
                    "id": _KEYWORD,
                    "name": _KEYWORD,
                    "parent": _KEYWORD,
                    "surface_forms": _KEYWORD,
                    "count": {"type": "integer"},
                    "mentions": _NOT_INDEXED,
                }
            },
            "group_ids": _KEYWORD,
            **place_mappings(),
            "events": event_mappings(),
            "content_hash": _KEYWORD,
            "ner_done": {"type": "boolean"},
            **story_mappings(),
            "ner_model": _KEYWORD,  # the spaCy model that found the entities (null: none, see ner_skipped)
            "ner_skipped": _KEYWORD,  # why NER did not run (no model for the article's language)
        },
    }


def place_mappings() -> dict[str, Any]:
    """The places of an article (enrich.tags.place_record): nested, so a filter or facet on one place's id,
    country and region reads that place's fields together; ``location`` is the geo_point of distance and
    bounding-box filters. ``place_ids`` and ``place_countries`` are the flat copies plain filters use."""
    return {
        "places": {
            "type": "nested",
            "properties": {
                "id": _KEYWORD,
                "name": _KEYWORD,
                "name_fr": _KEYWORD,
                "name_ar": _KEYWORD,
                "kind": _KEYWORD,
                "country": _KEYWORD,
                "admin1": _KEYWORD,
                "lat": {"type": "float"},
                "lon": {"type": "float"},
                "location": {"type": "geo_point"},
                "surface_forms": _KEYWORD,
                "count": {"type": "integer"},
                "mentions": _NOT_INDEXED,
            },
        },
        "place_ids": _KEYWORD,
        "place_countries": _KEYWORD,
    }


def event_mappings() -> dict[str, Any]:
    """The events of an article (enrich/events), nested: a filter on type and actor matches one event, not a
    type from one event and an actor from another. Offsets and the trigger stay in _source."""
    return {
        "type": "nested",
        "properties": {
            "type": _KEYWORD,
            "subtype": _KEYWORD,
            "trigger": _NOT_INDEXED,
            "actors": _NOT_INDEXED,
            "actor_ids": _KEYWORD,
            "targets": _KEYWORD,
            "place": {
                "properties": {"id": _KEYWORD, "name": _KEYWORD, "start": _NOT_INDEXED_INT, "end": _NOT_INDEXED_INT}
            },
            "date": _DATE,
            "date_phrase": {"type": "keyword", "index": False},
            "fatalities": {"type": "integer"},
            "wounded": {"type": "integer"},
            "claim": _KEYWORD,
            "sentence": {
                "properties": {
                    "text": {"type": "text", "analyzer": "ww_exact"},
                    "start": _NOT_INDEXED_INT,
                    "end": _NOT_INDEXED_INT,
                }
            },
        },
    }


def story_mappings() -> dict[str, Any]:
    """The story of an article (search/stories.py): its id, first-seen time, LSH band keys and signature."""
    return {
        "story_id": _KEYWORD,
        "story_first_seen": _DATE,
        "story_bands": {"type": "keyword", "doc_values": False},  # only ever a terms filter
        "story_sig": {"type": "binary"},  # MinHash values, little-endian uint32, in _source only
    }


def articles_body(analysis: dict[str, Any]) -> dict[str, Any]:
    """Settings and mappings of one articles index version, with its fingerprint in ``_meta``."""
    settings = {"number_of_shards": 1, "analysis": analysis}
    mappings = articles_mappings()
    mappings["_meta"] = {"fingerprint": fingerprint(settings, mappings)}
    return {"settings": settings, "mappings": mappings}


def fingerprint(settings: dict[str, Any], mappings: dict[str, Any]) -> str:
    canonical = json.dumps({"settings": settings, "mappings": mappings}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def feeds_mappings() -> dict[str, Any]:
    """Feed state: the ingest stage's dict is stored whole (not indexed) beside a few listable fields."""
    return {
        "dynamic": "strict",
        "properties": {
            "feed_id": _KEYWORD,
            "last_success": _DATE,
            "last_error": {"type": "keyword", "ignore_above": 2048},
            "consecutive_failures": {"type": "integer"},
            "next_poll_at": _DATE,
            "updated_at": _DATE,
            "state": _NOT_INDEXED,
        },
    }


def checkpoints_mappings() -> dict[str, Any]:
    """A checkpoint is a named position of a background step; its content belongs to that step.

    Not strict: the step owning a checkpoint decides its fields; unknown ones stay in _source, unindexed.
    """
    return {
        "dynamic": False,
        "properties": {"name": _KEYWORD, "updated_at": _DATE, "position": _NOT_INDEXED},
    }
