"""The deliverer: sends from the outbox as soon as the matcher wakes it, and when what waits there comes due
(retries, lapsed claims, scheduled digests), through ``delivery.deliver_alerts`` (per-channel parallelism,
backoff and Retry-After). Sends whose record waits for Elasticsearch are kept in ``unrecorded`` and written
before the next read of the outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wirewatch.delivery import deliver_alerts, next_delivery_due
from wirewatch.engine.gate import EsGate, Halted
from wirewatch.engine.ledger import FeedLedger
from wirewatch.engine.options import EngineOptions
from wirewatch.steps import Step
from wirewatch.summary import PassSummary
from wirewatch.unrecorded import Unrecorded

if TYPE_CHECKING:
    from wirewatch.runtime import Runtime

log = logging.getLogger("wirewatch.engine")
DELIVER_EVERY_S = 60.0  # the deliverer looks at the outbox at least this often, woken or not
MIN_GAP_S = 1.0  # ... and at most this often when nothing wakes it (a due time already past)
AFTER_ERROR_S = 10.0  # a round that failed (not an outage: the gate waits those out) is tried again after this


class Deliverer:
    """In: ``wake`` (set by the matcher); out: deliveries through ``channels``, recorded in the outbox. ``rt``
    is what the delivery step reads the outbox and the digests with."""

    def __init__(
        self,
        rt: Runtime,
        channels: dict[str, Any],
        *,
        wake: threading.Event,
        ledger: FeedLedger,
        gate: EsGate,
        opts: EngineOptions,
    ) -> None:
        self.rt, self.channels, self.wake, self.ledger, self.gate, self.opts = rt, channels, wake, ledger, gate, opts
        self.stop_delivering = threading.Event()
        self.unrecorded = Unrecorded()  # sends whose record waits for Elasticsearch: written before the next read

    def deliver_loop(self) -> None:
        """Deliver when woken (new alerts), when the earliest waiting delivery comes due (a retry after a failed
        send, a claim left by a runner that died, a scheduled digest) and at least every DELIVER_EVERY_S; the
        first round at once (what earlier runners left waiting)."""
        due = time.monotonic()
        while not self.stop_delivering.is_set() and not self.ledger.halt.is_set():
            woken = self.wake.wait(timeout=max(0.0, min(1.0, due - time.monotonic())))
            if not woken and time.monotonic() < due:
                continue
            self.wake.clear()
            try:
                self.deliver_all()
                due = self._next_due()
            except Halted:
                raise
            except Exception as exc:  # pending deliveries stay in the outbox for the next round
                log.warning("delivering failed: %s", exc)
                self.ledger.fail(Step.DELIVER, "outbox", str(exc), transient=True)
                due = time.monotonic() + AFTER_ERROR_S

    def _next_due(self) -> float:
        """The monotonic time of the next round: the earliest due time, within [MIN_GAP_S, DELIVER_EVERY_S]."""
        at = self.gate.call(lambda: next_delivery_due(self.rt, self.channels))
        wait = DELIVER_EVERY_S if at is None else (at - datetime.now(UTC)).total_seconds()
        return time.monotonic() + min(DELIVER_EVERY_S, max(MIN_GAP_S, wait))

    def deliver_all(self, max_rounds: int = 20) -> None:
        """Deliver until a round sends nothing new (what is due now; failures wait for their backoff), or the
        pass's deadline passes (what is left waits in the outbox for the next pass)."""
        for _ in range(max_rounds):
            if self.ledger.past_deadline() or not self.deliver_round():
                return

    def deliver_round(self) -> int:
        ledger, part = self.ledger, PassSummary()
        began = time.perf_counter()
        self.gate.call(
            lambda: deliver_alerts(
                self.rt, part, self.channels, limit=self.opts.outbox_batch, deadline=ledger.deadline,
                unrecorded=self.unrecorded,
            )
        )  # fmt: skip
        ledger.busy("deliver", time.perf_counter() - began)
        part.stage_seconds.clear()
        with ledger.lock:
            ledger.summary.merge(part)
            ledger.progress.delivered += part.deliveries.get("delivered", 0)
        return sum(part.deliveries.values())
