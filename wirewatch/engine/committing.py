"""The committer: a feed's state is saved as soon as all of its articles are settled (design invariant 2).

Finished feeds arrive one by one on the ledger's ``to_commit`` queue; the committer saves them in small bulks
(whatever arrived while the last bulk was written), so 2,000 unchanged feeds cost a few requests, not 2,000.
Then it releases their leases.
"""

from __future__ import annotations

import logging
import queue
import time
from functools import partial
from typing import TYPE_CHECKING

from wirewatch.engine.gate import EsGate, Halted
from wirewatch.engine.ledger import FeedLedger, Finished

if TYPE_CHECKING:
    from search.feedstate import EsFeedStateStore
    from search.leases import Leases

BULK = 500
log = logging.getLogger("wirewatch.engine")


class Committer:
    """``to_commit`` in; out: the states saved in ``store``, the feeds closed in the ledger, leases released."""

    def __init__(
        self,
        to_commit: queue.Queue[Finished],
        *,
        ledger: FeedLedger,
        gate: EsGate,
        store: EsFeedStateStore,
        leases: Leases,
    ) -> None:
        self.to_commit, self.ledger, self.gate, self.store, self.leases = to_commit, ledger, gate, store, leases

    def run(self) -> None:
        ledger = self.ledger
        while not ledger.halt.is_set():
            try:
                first = self.to_commit.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < BULK:
                try:
                    batch.append(self.to_commit.get_nowait())
                except queue.Empty:
                    break
            began = time.perf_counter()
            try:
                batch = self._still_ours(batch)
                states = {fid: state.to_dict() for fid, state, _ in batch if state is not None}
                if states:
                    self.gate.call(partial(self.store.save, states))
            except Halted:
                return  # not saved: those feeds are abandoned and polled again
            ledger.busy("commit", time.perf_counter() - began)
            for feed_id, state, work in batch:
                ledger.committed(feed_id, state, work)
            self.leases.release_quietly([feed_id for feed_id, _, _ in batch])

    def _still_ours(self, batch: list[Finished]) -> list[Finished]:
        """The batch, without the states of feeds whose lease this runner lost (it stalled past the lease and
        another runner took the feed over): the new holder's state is not overwritten with an older one.
        Those feeds finish uncommitted, a named transient failure; the new holder accounts for them."""
        with_state = [fid for fid, state, _ in batch if state is not None]
        lost = set(self.gate.call(lambda: self.leases.confirm(with_state))) if with_state else set()
        if not lost:
            return batch
        reason = "lease lost to another runner before the state was saved: not committed (that runner polls it)"
        for feed_id in sorted(lost):
            log.warning("feed %s: %s", feed_id, reason)
            self.ledger.lease_lost(feed_id, reason)
        return [(fid, None if fid in lost else state, work) for fid, state, work in batch]
