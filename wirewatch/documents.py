"""The article document (docs/article-document.md) from ingest's Article and enrich's Tags.

This is the one place both records meet, which is why it lives in ``wirewatch/`` and not in a stage.

Every string is cut to a byte budget here, before anything is sent: a hostile page can put 40 KB of emoji in
its author or site name, and one value past Lucene's 32,766-byte term limit makes Elasticsearch refuse the
whole document. A cut value is still the page's own value, only shorter; the mapping's ``ignore_above`` is the
second line of defence.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enrich.tags import Tags
    from ingest.extract import Article

# Bytes (UTF-8) each field may take; any field not named here gets DEFAULT_FIELD_BYTES.
FIELD_BYTES: dict[str, int] = {
    "url": 8192,
    "canonical_url": 8192,
    "source": 512,
    "site_name": 1024,
    "author": 1024,
    "title": 4096,
    "description": 32_768,
    "text": 2_000_000,  # about 300,000 words: no real article comes near it
    "language": 64,
}
DEFAULT_FIELD_BYTES = 2048  # keywords of the tags and extraction (entity names, surface forms, method)


def truncate_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) <= max_bytes:
        return text
    # errors="ignore" drops only the partial character the cut may leave at the end
    return data[:max_bytes].decode("utf-8", errors="ignore")


def _bounded(value: Any, max_bytes: int) -> Any:
    """Every string inside ``value`` (nested dicts and lists included) cut to ``max_bytes``."""
    if isinstance(value, str):
        return truncate_utf8(value, max_bytes)
    if isinstance(value, dict):
        return {key: _bounded(item, max_bytes) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded(item, max_bytes) for item in value]
    return value


def bounded_document(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with each field's strings cut to that field's budget."""
    return {key: _bounded(value, FIELD_BYTES.get(key, DEFAULT_FIELD_BYTES)) for key, value in doc.items()}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def article_document(article: Article, tags: Tags, story: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document, every field bounded in size; ``story`` holds the story fields (wirewatch/stories.py) when
    the article was clustered."""
    return bounded_document(
        {
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
            "extraction": _extraction(article),
            **tags.to_dict(),
            "content_hash": article.content_hash,
            "ner_done": tags.ner_done,
            "ner_model": tags.ner_model,
            "ner_skipped": tags.ner_skipped,
            **(story or {}),
        }
    )


def _extraction(article: Article) -> dict[str, Any]:
    """How the article was extracted; ``date_set_aside`` only when a page or feed date was refused."""
    out: dict[str, Any] = {"method": article.extraction_method, "date_source": article.date_source}
    if article.date_set_aside:
        out["date_set_aside"] = list(article.date_set_aside)
    return out


def entity_update(tags: Tags) -> dict[str, Any]:
    """The fields the NER phase adds to an indexed article (its places and events too: they use the NER spans)."""
    data = tags.to_dict()
    return bounded_document(
        {
            "entities": data["entities"],
            "entity_names": data["entity_names"],
            **tags.place_fields(),
            "events": data["events"],
            "ner_done": True,
            "ner_model": tags.ner_model,
            "ner_skipped": tags.ner_skipped,
        }
    )
