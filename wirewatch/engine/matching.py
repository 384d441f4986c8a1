"""Alerts as articles land: the matcher runs the watches on each flushed micro-batch (only those ids), creates
the alerts and wakes the deliverer (``engine/delivering.py``).

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
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from search.alerting.reconcile import alert_on_articles, match_since_checkpoint
from search.alerting.snooze import awake
from search.alerting.watches import list_watches
from wirewatch.engine.gate import EsGate, Halted
from wirewatch.engine.ledger import FeedLedger
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.recent import Refresher
from wirewatch.steps import Step
from wirewatch.summary import PassSummary

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from search.alerting.watches import Watch
    from search.names import IndexNames

log = logging.getLogger("wirewatch.engine")
WATCHES_TTL_S = 30.0  # the service sees a new watch within this
Spikes = Callable[[PassSummary], object]  # today's spike alerts into a summary; truthy when it raised any


class Matcher:
    """In: the ids the writer made durable (``enqueue``); out: alerts in the index, and ``wake`` set for the
    deliverer when it created any."""

    def __init__(
        self,
        *,
        ledger: FeedLedger,
        gate: EsGate,
        es: Elasticsearch,
        names: IndexNames,
        refresher: Refresher,
        spikes: Spikes,
        wake: threading.Event,
        opts: EngineOptions,
        now: Callable[[], datetime],
    ) -> None:
        self.ledger, self.gate, self.es, self.names, self.refresher = ledger, gate, es, names, refresher
        self.raise_spikes, self.wake, self.opts, self.now = spikes, wake, opts, now
        self._cond = threading.Condition()
        self._ids: list[str] = []
        self._refused: list[str] = []  # ids the node refused to match (429): matched again at _retry_at
        self._retry_at = 0.0
        self._retries = 0
        self.left_to_reconcile = 0  # ids not kept because too many waited
        self._closed = False
        self._watches: list[Watch] = []
        self._watches_at = 0.0

    # --- matching ---------------------------------------------------------------------------------------
    def enqueue(self, ids: list[str]) -> None:
        if ids:
            with self._cond:
                self._ids.extend(self._bounded(ids))
                self._cond.notify_all()

    def _bounded(self, ids: list[str]) -> list[str]:
        """What fits under ``match_waiting_max`` (the lock held); the rest is the reconcile's: it matches
        everything indexed since the checkpoint, which does not move past an unmatched article."""
        room = max(0, self.opts.match_waiting_max - len(self._ids) - len(self._refused))
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
            backoff = min(self.opts.match_retry_max_s, 0.5 * 2 ** min(self._retries, 10))
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
                while not self._ids and not self._closed and not self.ledger.halt.is_set():
                    if self._refused and time.monotonic() >= self._retry_at:
                        break
                    self._cond.wait(timeout=0.2)
                if self.ledger.halt.is_set() or (self._closed and not self._ids):
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
                self.ledger.fail(Step.MATCH, f"{len(ids)} articles", str(exc), transient=True)
            self.ledger.busy("match", time.perf_counter() - began)

    def match(self, ids: list[str]) -> None:
        es, names, opts = self.es, self.names, self.opts
        watches = self._current_watches()
        self.refresher.refresh()
        report = self.gate.call(
            lambda: alert_on_articles(
                es, names, ids, watches=watches, dedup_window_s=opts.dedup_window_s, max_age_s=opts.alert_max_age_s,
            )
        )  # fmt: skip
        if report.refused:
            log.warning("Elasticsearch refused matching %d article(s) (429): matched again later", len(report.refused))
            self._refused_again(report.refused)
        elif self._retries:
            with self._cond:
                self._retries = 0
        ledger = self.ledger
        with ledger.lock:
            s = ledger.summary
            s.alerts["matched_articles"] += len(ids) - len(report.refused)
            s.alerts["created"] += len(report.created)
            s.alerts["already_existed"] += report.existing
            s.alerts["attached_to_earlier"] += len(report.attached)
            if report.too_old:
                s.alerts["too_old_to_alert"] += len(report.too_old)
            for aid, reason in report.failed.items():
                s.fail(Step.MATCH, aid, reason)
            ledger.progress.alerts += len(report.created)
        if report.created:
            self.wake.set()

    def _current_watches(self) -> list[Watch]:
        """The enabled watches (re-read every WATCHES_TTL_S) that are not snoozed right now."""
        if time.monotonic() - self._watches_at > WATCHES_TTL_S:
            self._watches = self.gate.call(lambda: list_watches(self.es, self.names, enabled_only=True))
            self._watches_at = time.monotonic()
        return list(awake(self._watches, self.now()))

    def reconcile(self) -> None:
        """Everything indexed since the checkpoint (this pass's, and what a crash left): alerts that the
        micro-batches created are recognised, missing ones created; the checkpoint moves. Then today's
        spike alerts (``wirewatch.spikes``)."""
        es, names, opts, ledger = self.es, self.names, self.opts, self.ledger
        began = time.perf_counter()
        report = self.gate.call(
            lambda: match_since_checkpoint(
                es, names, dedup_window_s=opts.dedup_window_s, max_age_s=opts.alert_max_age_s
            )
        )
        ledger.busy("match", time.perf_counter() - began)
        with ledger.lock:
            s = ledger.summary
            s.alerts["created"] += len(report.alerts.created)
            s.alerts["attached_to_earlier"] += len(report.alerts.attached)
            for aid, reason in report.alerts.failed.items():
                s.fail(Step.MATCH, aid, reason)
            if report.alerts.refused:  # the checkpoint stays before them: the next reconcile matches them
                reason = f"Elasticsearch refused matching {len(report.alerts.refused)} article(s) (429)"
                s.fail(Step.MATCH, "reconcile", reason + ": matched again by the next pass", transient=True)
            ledger.progress.alerts += len(report.alerts.created)
        if report.alerts.created:
            self.wake.set()
        self.spikes()

    def spikes(self) -> None:
        """Today's spike alerts; a failure here is named and leaves the match's alerts alone."""
        ledger, part = self.ledger, PassSummary()
        try:
            spiked = self.gate.call(lambda: self.raise_spikes(part))
        except Halted:
            raise
        except Exception as exc:
            log.warning("spike check failed: %s", exc)
            ledger.fail(Step.MATCH, "spikes", f"{type(exc).__name__}: {exc}", transient=True)
            return
        ledger.merge(part)
        if spiked:
            self.wake.set()
