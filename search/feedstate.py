"""Feed state (ETag, Last-Modified, entries taken, health) kept in Elasticsearch, one document per feed.

The ingest stage owns the state's shape: it hands plain dicts and gets them back as JSON (datetimes come back
as ISO strings). The dict is stored whole and unindexed; a few health fields are copied beside it so
``wirewatch feeds`` can list and sort them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.errors import IndexMissing, SearchError
from search.names import IndexNames

LISTED_FIELDS = ("last_success", "last_error", "consecutive_failures", "next_poll_at")
MAX_ERROR_CHARS = 2000
MAX_LISTED = 10_000


class EsFeedStateStore:
    def __init__(self, es: Elasticsearch, names: IndexNames) -> None:
        self._es = es
        self._index = names.feeds
        self._checked = False

    def load(self, feed_ids: list[str]) -> dict[str, dict[str, Any]]:
        """{feed id: saved state} for the feeds that have one (realtime: sees the latest save)."""
        if not feed_ids:
            return {}
        with es_errors("loading feed state"):
            response = self._es.mget(index=self._index, ids=list(dict.fromkeys(feed_ids)))
        states: dict[str, dict[str, Any]] = {}
        for doc in response["docs"]:
            if "error" in doc:
                raise IndexMissing(f"{doc['error'].get('reason')}: run `wirewatch es setup` first")
            if doc.get("found"):
                states[doc["_id"]] = doc["_source"]["state"]
        return states

    def save(self, states: dict[str, dict[str, Any]]) -> None:
        """Store every feed's state; returns only once all are durable, else raises SearchError."""
        if not states:
            return
        self._require_index()
        now = datetime.now(UTC).isoformat()
        operations: list[dict[str, Any]] = []
        for feed_id, state in states.items():
            operations.append({"index": {"_index": self._index, "_id": feed_id}})
            operations.append(_state_doc(feed_id, state, now))
        with es_errors("saving feed state"):
            response = self._es.bulk(operations=operations, refresh=False)
        if response["errors"]:
            failed = [
                f"{item['_id']}: {item['error'].get('reason')}"
                for entry in response["items"]
                for item in entry.values()
                if "error" in item
            ]
            raise SearchError(f"feed state not saved for {len(failed)} feed(s): {'; '.join(failed[:5])}")

    def list_states(self) -> list[dict[str, Any]]:
        """Every feed's health fields and state, ordered by feed id."""
        with es_errors("listing feed state"):
            self._require_index()
            self._es.indices.refresh(index=self._index)  # a listing right after a pass must show that pass
            response = self._es.search(
                index=self._index, query={"match_all": {}}, sort=[{"feed_id": "asc"}], size=MAX_LISTED
            )
        return [hit["_source"] for hit in response["hits"]["hits"]]

    def _require_index(self) -> None:
        # writing to a missing index would auto-create it with a guessed mapping
        if not self._checked:
            with es_errors("checking the feed state index"):
                if not self._es.indices.exists(index=self._index):
                    raise IndexMissing(f"index {self._index} does not exist: run `wirewatch es setup` first")
            self._checked = True


def _state_doc(feed_id: str, state: dict[str, Any], now: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"feed_id": feed_id, "updated_at": now, "state": state}
    for name in LISTED_FIELDS:
        # ingest names its timestamps *_at (last_success_at); accept both spellings
        value = state.get(name, state.get(f"{name}_at"))
        if name in ("last_success", "next_poll_at"):
            value = _as_date(value)
        elif name == "last_error" and value is not None:
            value = str(value)[:MAX_ERROR_CHARS]
        doc[name] = value
    return doc


def _as_date(value: Any) -> str | None:
    """Datetimes and epoch seconds to ISO 8601 UTC; ISO strings pass through; anything else is dropped."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value if isinstance(value, str) else None
