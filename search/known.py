"""Which articles are already indexed, so the pipeline skips fetching pages it has (one mget, no sources)."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.errors import IndexMissing
from search.names import IndexNames

MGET_BATCH = 1000


def existing_ids(es: Elasticsearch, names: IndexNames, ids: list[str]) -> set[str]:
    """The subset of ``ids`` present in the articles alias (realtime: sees writes not yet refreshed)."""
    unique = list(dict.fromkeys(ids))
    found: set[str] = set()
    with es_errors("checking which articles exist"):
        for start in range(0, len(unique), MGET_BATCH):
            response = es.mget(index=names.articles, ids=unique[start : start + MGET_BATCH], source=False)
            for doc in response["docs"]:
                if "error" in doc:
                    raise IndexMissing(f"{doc['error'].get('reason')}: run `wirewatch es setup` first")
                if doc.get("found"):
                    found.add(doc["_id"])
    return found
