"""Articles still waiting for their second (NER) phase.

The pipeline indexes an article with its tracked-group tags first (``ner_done: false``) so group alerts never
wait for statistical NER, then adds the entities. Anything a crash left half done is found here on the next
pass, so no article stays without entities.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.names import IndexNames


def articles_missing_entities(
    es: Elasticsearch, names: IndexNames, *, limit: int = 500
) -> list[tuple[str, str, str | None]]:
    """(id, text, language) of up to ``limit`` articles indexed with ``ner_done: false``, oldest first."""
    with es_errors("listing articles that still need entities"):
        found = es.search(
            index=names.articles,
            query={"term": {"ner_done": False}},
            source_includes=["text", "language"],
            sort=[{"indexed_at": "asc"}, {"id": "asc"}],
            size=limit,
        )
    hits = found["hits"]["hits"]
    return [(hit["_id"], hit["_source"].get("text") or "", hit["_source"].get("language")) for hit in hits]
