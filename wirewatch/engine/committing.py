"""The committer: a feed's state is saved as soon as all of its articles are settled (design invariant 2).

Finished feeds arrive one by one; the committer saves them in small bulks (whatever arrived while the last
bulk was written), so 2,000 unchanged feeds cost a few requests, not 2,000.
"""

from __future__ import annotations

import logging
import queue
import time
from functools import partial
from typing import TYPE_CHECKING

from wirewatch.engine.gate import Halted

if TYPE_CHECKING:
    from ingest.feedwork import FeedWork
    from ingest.state import FeedState
    from wirewatch.engine.core import Engine

BULK = 500
log = logging.getLogger("wirewatch.engine")
Entry = tuple[str, "FeedState | None", "FeedWork | None"]


class Committer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._q: queue.Queue[Entry] = queue.Queue()
        self.stopping = False

    def enqueue(self, feed_id: str, state: FeedState | None, work: FeedWork | None) -> None:
        self._q.put((feed_id, state, work))

    def run(self) -> None:
        from search.feedstate import EsFeedStateStore

        engine = self.engine
        store = EsFeedStateStore(engine.rt.es, engine.rt.names)
        while not engine.halt.is_set():
            try:
                first = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < BULK:
                try:
                    batch.append(self._q.get_nowait())
                except queue.Empty:
                    break
            began = time.perf_counter()
            try:
                batch = self._still_ours(batch)
                states = {fid: state.to_dict() for fid, state, _ in batch if state is not None}
                if states:
                    engine.gate.call(partial(store.save, states))
            except Halted:
                return  # not saved: those feeds are abandoned and polled again
            engine.busy("commit", time.perf_counter() - began)
            for feed_id, state, work in batch:
                engine.committed(feed_id, state, work)
            engine.release_leases([feed_id for feed_id, _, _ in batch])

    def _still_ours(self, batch: list[Entry]) -> list[Entry]:
        """The batch, without the states of feeds whose lease this runner lost (it stalled past the lease and
        another runner took the feed over): the new holder's state is not overwritten with an older one.
        Those feeds finish uncommitted, a named transient failure; the new holder accounts for them."""
        engine = self.engine
        with_state = [fid for fid, state, _ in batch if state is not None]
        lost = set(engine.gate.call(lambda: engine.leases.confirm(with_state))) if with_state else set()
        if not lost:
            return batch
        reason = "lease lost to another runner before the state was saved: not committed (that runner polls it)"
        for feed_id in sorted(lost):
            log.warning("feed %s: %s", feed_id, reason)
            engine.lease_lost(feed_id, reason)
        return [(fid, None if fid in lost else state, work) for fid, state, work in batch]
