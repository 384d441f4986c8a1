"""``wirewatch run``: the long-running service around one engine.

Each feed is polled when it is due by its own state (``next_poll_at``: its interval, its backoff, what the
server asked), not in fixed passes; a feed is never in flight twice. A health line goes out every
``run_health_every_s``; the reconcile (matching since the checkpoint) runs every minute, so nothing a
micro-batch missed waits long. An Elasticsearch outage is waited out (the engine's gate, no patience limit):
writes are held, the bounded queues stop the stages upstream, the health line says so, and work resumes
when the cluster is back: nothing is lost (feed state moves only after the writes) and nothing is
duplicated (ids are hashes, alerts ``op_type=create``). On stop (SIGTERM, Ctrl-C) it stops polling, drains
what is in flight within ``run_grace_s``, commits, and returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ingest.state import due_feeds
from wirewatch.delivery import close_channels
from wirewatch.engine.core import Engine
from wirewatch.engine.gate import Halted
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.passes import drain, report_unrecorded
from wirewatch.summary import PassSummary

if TYPE_CHECKING:
    from ingest.feedlist import FeedSpec
    from wirewatch.runtime import PassTools, Runtime

log = logging.getLogger("wirewatch.service")
SCHEDULE_EVERY_S = 1.0
RECONCILE_EVERY_S = 60.0
KEEP_FAILURES = 1000  # the newest failures the service's summary keeps


class Service:
    def __init__(
        self,
        rt: Runtime,
        tools: PassTools,
        *,
        on_health: Callable[[str], None] | None = None,
        health_every_s: float | None = None,
        grace_s: float | None = None,
    ) -> None:
        s = rt.settings
        self.rt, self.tools = rt, tools
        self.health_every_s = s.run_health_every_s if health_every_s is None else health_every_s
        self.grace_s = s.run_grace_s if grace_s is None else grace_s
        self.on_health = on_health or log.info
        self.summary = PassSummary()
        self.engine: Engine | None = None
        self.ready = threading.Event()  # set once the engine runs (tests and the CLI wait on it)

    def run(self, stop: threading.Event) -> PassSummary:
        """Until ``stop`` is set; then a graceful drain. Returns what the service did in all."""
        channels = self.rt.channels()
        try:
            if not self._set_up(stop, channels):
                return self.summary
            opts = EngineOptions.from_settings(self.rt.settings, es_patience_s=None, pass_deadline_s=None)
            engine = Engine(self.rt, self.tools, options=opts, summary=self.summary, channels=channels)
            self.engine = engine
            feeds = self.rt.feeds()
            engine.load_states([f.id for f in feeds])
            engine.start()
            self.ready.set()
            reconciler = threading.Thread(target=self._reconcile_loop, args=(engine, stop), daemon=True)
            reconciler.start()
            self._schedule(engine, feeds, stop)
            deadline = self._stop(engine)
            reconciler.join(max(0.0, deadline - time.monotonic()))
        finally:
            close_channels(channels)
        self.summary.finished_at = time.time()
        return self.summary

    def _set_up(self, stop: threading.Event, channels: Mapping[str, object]) -> bool:
        """Indices and watches, retried while Elasticsearch is down (the service may start before it)."""
        from search.errors import SearchUnavailable
        from wirewatch.pipeline import ensure_indices, sync_watches

        wait = 1.0
        while not stop.is_set():
            try:
                ensure_indices(self.rt)
                sync_watches(self.rt, list(channels))
                return True
            except SearchUnavailable as exc:
                self.on_health(f"Elasticsearch unreachable at start ({exc}); retrying in {wait:.0f} s")
                stop.wait(wait)
                wait = min(wait * 2, self.rt.settings.es_outage_max_backoff_s)
        return False

    def _schedule(self, engine: Engine, feeds: Sequence[FeedSpec], stop: threading.Event) -> None:
        next_health = time.monotonic() + self.health_every_s
        while not stop.is_set() and engine.ledger.fatal_error is None:
            now, ledger = engine.now(), engine.ledger
            with ledger.lock:
                due = [f for f in due_feeds(feeds, ledger.states, now) if f.id not in ledger.open]
            engine.submit_all(due, wait=False)  # never blocks: the health line below must go out in an outage
            if time.monotonic() >= next_health:
                self.on_health(self.health_line())
                next_health = time.monotonic() + self.health_every_s
                self._trim_failures(engine)
            stop.wait(SCHEDULE_EVERY_S)
        if engine.ledger.fatal_error is not None:
            log.error("the engine stopped: %s", engine.ledger.fatal_error)
            self.summary.fatal = str(engine.ledger.fatal_error)

    def _trim_failures(self, engine: Engine) -> None:
        """A service runs for months: keep the newest failures only (the counts stay whole)."""
        with engine.ledger.lock:
            dropped = len(self.summary.failures) - KEEP_FAILURES
            if dropped > 0:
                del self.summary.failures[:dropped]

    def _reconcile_loop(self, engine: Engine, stop: threading.Event) -> None:
        while not stop.wait(RECONCILE_EVERY_S):
            try:
                engine.matcher.reconcile()
            except Halted:
                return
            except Exception as exc:  # the next round tries again; the health line shows the outage
                log.warning("reconcile failed: %s", exc)

    def _stop(self, engine: Engine) -> float:
        """Stop polling, let what is in flight finish within the grace period, commit, then the tail. The grace
        bounds all of it, an Elasticsearch outage included: every wait on the cluster ends with it, and what
        is left then (unfinished feeds, the reconcile, the outbox, NER) stays in the index for the next start.
        Returns the grace's deadline (monotonic)."""
        self.on_health(f"stopping: draining in-flight work (grace {self.grace_s:g} s)")
        deadline = time.monotonic() + self.grace_s
        engine.gate.deadline = deadline
        engine.close_input()
        if not engine.wait_idle(deadline):
            abandoned = engine.abandon_open("stopped: the grace period ended before the feed finished")
            self.on_health(f"grace period over: {len(abandoned)} feed(s) left for the next start")
        try:
            drain(engine, deadline, None, stop_by=deadline)
        except Halted:
            self.on_health("grace period over: the reconcile, the outbox and NER resume at the next start")
        finally:
            engine.stop_threads(timeout=max(0.0, deadline - time.monotonic()))
        report_unrecorded(engine)
        self.on_health("stopped: " + self.health_line())
        return deadline

    def health_line(self) -> str:
        if self.engine is None:
            return "starting"
        return self.engine.snapshot().line()
