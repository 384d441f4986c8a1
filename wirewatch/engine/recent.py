"""Articles this engine wrote that a search may not show yet, for the writer's story lookup.

A copy of a story must find the articles written just before it, which a search shows only after a refresh.
Rather than refresh the index (and wait for it) before every batch, the writer keeps the story state of what
it wrote since the last refresh that finished, and the lookup reads the index and this together
(``enrich.stories.CombinedStore``). Each write is numbered (``Refresher.wrote``); once a refresh
started after write k has finished (the matcher makes one after each write), everything up to k is
searchable and leaves this store. So it holds a few batches at most, never the archive.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from enrich.stories import InMemoryStore, StoredMember

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from search.names import IndexNames
    from wirewatch.engine.gate import EsGate


class RecentlyWritten:
    """Story members by the number of the write that stored them, until a refresh covers that write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_write: dict[int, list[tuple[StoredMember, tuple[str, ...]]]] = {}

    def add(self, write: int, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Remember the story fields of ``docs`` (article id -> document) written by write number ``write``."""
        members = []
        for aid, doc in docs.items():
            if not doc.get("story_id") or not doc.get("story_sig"):
                continue
            member = StoredMember(
                article_id=aid, story_id=str(doc["story_id"]), signature=base64.b64decode(str(doc["story_sig"])),
                story_first_seen=doc.get("story_first_seen"),
            )  # fmt: skip
            members.append((member, tuple(doc.get("story_bands") or ())))
        if members:
            with self._lock:
                self._by_write.setdefault(write, []).extend(members)

    def searchable_up_to(self, write: int) -> None:
        """A refresh that started after write number ``write`` finished: forget everything up to it."""
        with self._lock:
            for number in [n for n in self._by_write if n <= write]:
                del self._by_write[number]

    def __len__(self) -> int:
        with self._lock:
            return sum(len(members) for members in self._by_write.values())

    def members_sharing(self, keys: Sequence[str], *, exclude: Sequence[str] = ()) -> list[StoredMember]:
        index = InMemoryStore()
        with self._lock:
            for members in self._by_write.values():
                for member, bands in members:
                    index.add(member, bands)
        return index.members_sharing(keys, exclude=exclude)


class Refresher:
    """One refresh per write, made by the matcher (which must search the batch): numbers the writes of
    articles and refreshes the index only when a write since the last refresh finished. The writer's story
    lookup reads what no finished refresh covers yet from ``recent`` instead of waiting for one."""

    def __init__(self, es: Elasticsearch, names: IndexNames, gate: EsGate) -> None:
        self._es, self._names, self._gate = es, names, gate
        self._counts = threading.Lock()  # guards the two counters below
        self._refreshing = threading.Lock()  # one refresh at a time; a second caller then finds it done
        self._written = 0  # bulk writes of articles finished
        self._refreshed = 0  # writes made searchable by a refresh
        self.recent = RecentlyWritten()

    def wrote(self) -> int:
        """A bulk write of articles finished: the next ``refresh`` refreshes. Returns its number."""
        with self._counts:
            self._written += 1
            return self._written

    def refresh(self) -> None:
        """Make every finished write searchable, unless a refresh since the last write already did."""
        with self._refreshing:
            with self._counts:
                target = self._written
                if self._refreshed >= target:
                    return
            self._gate.call(lambda: self._es.indices.refresh(index=self._names.articles))
            with self._counts:
                self._refreshed = max(self._refreshed, target)
            self.recent.searchable_up_to(target)
