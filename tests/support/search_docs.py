"""Article documents for the search tests, per docs/article-document.md, built from the seed article text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

SEED_TEXT_PATHS = [
    Path(__file__).resolve().parents[2] / "seeds" / "000_696f0085cf931ac6.txt",  # the project's copy
    Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_696f0085cf931ac6.txt",  # ../shared
]


def seed_text() -> tuple[str, str]:
    """(title, body) of the seed article."""
    for path in SEED_TEXT_PATHS:
        if path.exists():
            title, _, body = path.read_text(encoding="utf-8").partition("\n")
            return title.strip(), body.strip()
    raise FileNotFoundError("the seed article text is missing")


def make_doc(
    doc_id: str,
    *,
    title: str = "Untitled",
    text: str = "Nothing to report.",
    source: str = "demo",
    published_at: str | None = "2024-05-01T10:00:00+00:00",
    language: str | None = "en",
    groups: list[str] | None = None,
    entities: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """One article document; ``entities`` maps a type (PERSON...) to canonical names."""
    entities = entities or {}
    groups = groups or []
    return {
        "id": doc_id,
        "url": f"http://127.0.0.1/{doc_id}",
        "canonical_url": f"http://127.0.0.1/{doc_id}",
        "source": source,
        "site_name": None,
        "title": title,
        "text": text,
        "description": None,
        "author": None,
        "published_at": published_at,
        "fetched_at": "2024-05-02T00:00:00+00:00",
        "language": language,
        "extraction": {"method": "trafilatura", "date_source": "page"},
        "entities": [
            {
                "type": kind,
                "canonical": name,
                "surface_forms": [name],
                "count": 1,
                "mentions": [{"start": 0, "end": len(name), "surface": name}],
            }
            for kind, names in entities.items()
            for name in names
        ],
        "entity_names": {kind.lower(): names for kind, names in entities.items()},
        "groups": [
            {"id": g, "name": g, "parent": None, "surface_forms": [g], "count": 1, "mentions": []} for g in groups
        ],
        "group_ids": groups,
        "content_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
        "ner_done": bool(entities),
    }


def seed_doc(doc_id: str = "seed") -> dict[str, Any]:
    title, text = seed_text()
    return make_doc(
        doc_id,
        title=title,
        text=text,
        source="seed-rss",
        published_at="2018-02-01T08:00:00+00:00",
        groups=["isis", "aqim"],
        entities={"PERSON": ["Mokhtar Belmokhtar", "Khalifa Haftar"], "GPE": ["Libya", "Syria"]},
    )
