"""The committer: a feed's state is saved as soon as all of its articles are settled (design invariant 2).

Finished feeds arrive one by one; the committer saves them in small bulks (whatever arrived while the last
bulk was written), so 2,000 unchanged feeds cost a few requests, not 2,000.
"""

from __future__ import annotations

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


class Committer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._q: queue.Queue[tuple[str, FeedState | None, FeedWork | None]] = queue.Queue()
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
            states = {fid: state.to_dict() for fid, state, _ in batch if state is not None}
            try:
                if states:
                    engine.gate.call(partial(store.save, states))
            except Halted:
                return  # not saved: those feeds are abandoned and polled again
            engine.busy("commit", time.perf_counter() - began)
            for feed_id, state, work in batch:
                engine.committed(feed_id, state, work)
            engine.release_leases([feed_id for feed_id, _, _ in batch])
