"""Alerts as articles land: the matcher runs the watches on each flushed micro-batch (only those ids) and
creates the alerts; the deliverer sends from the outbox as soon as it is woken, and when what waits there
comes due (retries, lapsed claims, scheduled digests), through ``delivery.deliver_alerts`` (per-channel
parallelism, backoff and Retry-After).

Matching a micro-batch does not move the checkpoint: the pass ends with ``match_since_checkpoint`` (the
reconcile), which finds anything a crash or an outage left unmatched, and recognises what was already alerted.
So what waits for the matcher is bounded (``match_waiting_max``): while matching is held (an outage) or
refused (429), ids beyond the bound are left to the reconcile, and articles the node refused to match are
matched again after a backoff, without holding back the alerts the other searches found.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from wirewatch.delivery import deliver_alerts, next_delivery_due
from wirewatch.engine.gate import Halted
from wirewatch.steps import Step
from wirewatch.summary import PassSummary
from wirewatch.unrecorded import Unrecorded

if TYPE_CHECKING:
    from search.alerting.watches import Watch
    from wirewatch.engine.core import Engine

log = logging.getLogger("wirewatch.engine")
WATCHES_TTL_S = 30.0  # the service sees a new watch within this
DELIVER_EVERY_S = 60.0  # the deliverer looks at the outbox at least this often, woken or not
MIN_GAP_S = 1.0  # ... and at most this often when nothing wakes it (a due time already past)
AFTER_ERROR_S = 10.0  # a round that failed (not an outage: the gate waits those out) is tried again after this


class Alerter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._ids: list[str] = []
        self._refused: list[str] = []  # ids the node refused to match (429): matched again at _retry_at
        self._retry_at = 0.0
        self._retries = 0
        self.left_to_reconcile = 0  # ids not kept because too many waited
        self._closed = False
        self._matching = False
        self.wake = threading.Event()
        self.stop_delivering = threading.Event()
        self._watches: list[Watch] = []
        self._watches_at = 0.0
        self.unrecorded = Unrecorded()  # sends whose record waits for Elasticsearch: written before the next read

    # --- matching ---------------------------------------------------------------------------------------
    def enqueue(self, ids: list[str]) -> None:
        if ids:
            with self._cond:
                self._ids.extend(self._bounded(ids))
                self._cond.notify_all()

    def _bounded(self, ids: list[str]) -> list[str]:
        """What fits under ``match_waiting_max`` (the lock held); the rest is the reconcile's: it matches
        everything indexed since the checkpoint, which does not move past an unmatched article."""
        room = max(0, self.engine.opts.match_waiting_max - len(self._ids) - len(self._refused))
        if len(ids) > room:
            self.left_to_reconcile += len(ids) - room
        return ids[:room]

    def held_back(self) -> tuple[int, int]:
        """(articles refused by the node and waiting for a retry, articles left to the reconcile)."""
        with self._cond:
            return len(self._refused), self.left_to_reconcile

    def _refused_again(self, ids: list[str]) -> None:
        with self._cond:
            self._refused.extend(self._bounded(ids))
            self._retries += 1
            backoff = min(self.engine.opts.match_retry_max_s, 0.5 * 2 ** min(self._retries, 10))
            self._retry_at = time.monotonic() + backoff

    def _take(self) -> list[str]:
        """The ids to match now (the lock held): the new ones, and the refused ones once their retry is due."""
        ids, self._ids = self._ids, []
        if self._refused and time.monotonic() >= self._retry_at:
            ids, self._refused = [*self._refused, *ids], []
        return ids

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def match_loop(self) -> None:
        while True:
            with self._cond:
                while not self._ids and not self._closed and not self.engine.halt.is_set():
                    if self._refused and time.monotonic() >= self._retry_at:
                        break
                    self._cond.wait(timeout=0.2)
                if self.engine.halt.is_set() or (self._closed and not self._ids):
                    self.left_to_reconcile += len(self._refused)  # the pass's reconcile tries them again
                    self._refused = []
                    return
                ids = self._take()
            began = time.perf_counter()
            try:
                self.match(ids)
            except Halted:
                raise
            except Exception as exc:  # the reconcile matches these again; ingest goes on meanwhile
                log.warning("matching a micro-batch failed: %s", exc)
                with self.engine.lock:
                    self.engine.summary.fail(Step.MATCH, f"{len(ids)} articles", str(exc), transient=True)
            self.engine.busy("match", time.perf_counter() - began)

    def match(self, ids: list[str]) -> None:
        from search.alerting.reconcile import alert_on_articles

        engine, rt = self.engine, self.engine.rt
        watches = self._current_watches()
        engine.refresh_articles()
        report = engine.gate.call(
            lambda: alert_on_articles(
                rt.es, rt.names, ids, watches=watches, dedup_window_s=engine.opts.dedup_window_s,
                max_age_s=engine.opts.alert_max_age_s,
            )
        )  # fmt: skip
        if report.refused:
            log.warning("Elasticsearch refused matching %d article(s) (429): matched again later", len(report.refused))
            self._refused_again(report.refused)
        elif self._retries:
            with self._cond:
                self._retries = 0
        with engine.lock:
            s = engine.summary
            s.alerts["matched_articles"] += len(ids) - len(report.refused)
            s.alerts["created"] += len(report.created)
            s.alerts["already_existed"] += report.existing
            s.alerts["attached_to_earlier"] += len(report.attached)
            if report.too_old:
                s.alerts["too_old_to_alert"] += len(report.too_old)
            for aid, reason in report.failed.items():
                s.fail(Step.MATCH, aid, reason)
            engine.progress.alerts += len(report.created)
        if report.created:
            self.wake.set()

    def _current_watches(self) -> list[Watch]:
        """The enabled watches (re-read every WATCHES_TTL_S) that are not snoozed right now."""
        from search.alerting.snooze import awake
        from search.alerting.watches import list_watches

        rt = self.engine.rt
        if time.monotonic() - self._watches_at > WATCHES_TTL_S:
            self._watches = self.engine.gate.call(lambda: list_watches(rt.es, rt.names, enabled_only=True))
            self._watches_at = time.monotonic()
        return list(awake(self._watches, self.engine.now()))

    def reconcile(self) -> None:
        """Everything indexed since the checkpoint (this pass's, and what a crash left): alerts that the
        micro-batches created are recognised, missing ones created; the checkpoint moves. Then today's
        spike alerts (``wirewatch.spikes``)."""
        from search.alerting.reconcile import match_since_checkpoint

        engine, rt = self.engine, self.engine.rt
        began = time.perf_counter()
        report = engine.gate.call(
            lambda: match_since_checkpoint(
                rt.es, rt.names, dedup_window_s=engine.opts.dedup_window_s, max_age_s=engine.opts.alert_max_age_s
            )
        )
        engine.busy("match", time.perf_counter() - began)
        with engine.lock:
            s = engine.summary
            s.alerts["created"] += len(report.alerts.created)
            s.alerts["attached_to_earlier"] += len(report.alerts.attached)
            for aid, reason in report.alerts.failed.items():
                s.fail(Step.MATCH, aid, reason)
            if report.alerts.refused:  # the checkpoint stays before them: the next reconcile matches them
                reason = f"Elasticsearch refused matching {len(report.alerts.refused)} article(s) (429)"
                s.fail(Step.MATCH, "reconcile", reason + ": matched again by the next pass", transient=True)
            engine.progress.alerts += len(report.alerts.created)
        if report.alerts.created:
            self.wake.set()
        self.spikes()

    def spikes(self) -> None:
        """Today's spike alerts; a failure here is named and leaves the match's alerts alone."""
        from wirewatch.spikes import raise_spikes

        engine, part = self.engine, PassSummary()
        try:
            spiked = engine.gate.call(lambda: raise_spikes(engine.rt, part))
        except Halted:
            raise
        except Exception as exc:
            log.warning("spike check failed: %s", exc)
            with engine.lock:
                engine.summary.fail(Step.MATCH, "spikes", f"{type(exc).__name__}: {exc}", transient=True)
            return
        with engine.lock:
            engine.summary.merge(part)
        if spiked:
            self.wake.set()

    # --- delivery ---------------------------------------------------------------------------------------
    def deliver_loop(self) -> None:
        """Deliver when woken (new alerts), when the earliest waiting delivery comes due (a retry after a failed
        send, a claim left by a runner that died, a scheduled digest) and at least every DELIVER_EVERY_S; the
        first round at once (what earlier runners left waiting)."""
        due = time.monotonic()
        while not self.stop_delivering.is_set() and not self.engine.halt.is_set():
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
                with self.engine.lock:
                    self.engine.summary.fail(Step.DELIVER, "outbox", str(exc), transient=True)
                due = time.monotonic() + AFTER_ERROR_S

    def _next_due(self) -> float:
        """The monotonic time of the next round: the earliest due time, within [MIN_GAP_S, DELIVER_EVERY_S]."""
        engine = self.engine
        at = engine.gate.call(lambda: next_delivery_due(engine.rt, engine.channels))
        wait = DELIVER_EVERY_S if at is None else (at - datetime.now(UTC)).total_seconds()
        return time.monotonic() + min(DELIVER_EVERY_S, max(MIN_GAP_S, wait))

    def deliver_all(self, max_rounds: int = 20) -> None:
        """Deliver until a round sends nothing new (what is due now; failures wait for their backoff), or the
        pass's deadline passes (what is left waits in the outbox for the next pass)."""
        for _ in range(max_rounds):
            if self.engine.past_deadline() or not self.deliver_round():
                return

    def deliver_round(self) -> int:
        engine = self.engine
        part = PassSummary()
        began = time.perf_counter()
        engine.gate.call(
            lambda: deliver_alerts(
                engine.rt, part, engine.channels, limit=engine.opts.outbox_batch, deadline=engine.deadline,
                unrecorded=self.unrecorded,
            )
        )
        engine.busy("deliver", time.perf_counter() - began)
        part.stage_seconds.clear()
        with engine.lock:
            engine.summary.merge(part)
            engine.progress.delivered += part.deliveries.get("delivered", 0)
        return sum(part.deliveries.values())
