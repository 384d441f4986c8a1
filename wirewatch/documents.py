"""The article document (docs/article-document.md) from ingest's Article and enrich's Tags.

This is the one place both records meet, which is why it lives in ``wirewatch/`` and not in a stage.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enrich.tags import Tags
    from ingest.extract import Article


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def article_document(article: Article, tags: Tags) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "source": article.source,
        "site_name": article.site_name,
        "title": article.title or "",
        "text": article.text,
        "description": article.description,
        "author": article.author,
        "published_at": _iso(article.published_at),
        "fetched_at": _iso(article.fetched_at),
        "language": tags.language or article.language,
        "extraction": {"method": article.extraction_method, "date_source": article.date_source},
        **tags.to_dict(),
        "content_hash": article.content_hash,
        "ner_done": tags.ner_done,
        "ner_model": tags.ner_model,
        "ner_skipped": tags.ner_skipped,
    }


def entity_update(tags: Tags) -> dict[str, Any]:
    """The fields the NER phase adds to an indexed article."""
    data = tags.to_dict()
    return {
        "entities": data["entities"],
        "entity_names": data["entity_names"],
        "ner_done": True,
        "ner_model": tags.ner_model,
        "ner_skipped": tags.ner_skipped,
    }
