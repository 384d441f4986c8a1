"""Every Elasticsearch call of the engine goes through the gate: an outage is waited out, not a crash.

A call that fails with ``SearchUnavailable`` is retried with capped exponential backoff while the gate
remembers since when the cluster is gone (the service's health line shows it). The work stays where it is
meanwhile: the writer holds its batch, and the bounded queues behind it fill and stop the stages upstream,
so nothing is lost and memory does not grow. After ``patience_s`` (a one-off pass) the outage is raised; a
halt (pass deadline, end of the grace period) raises ``Halted``, and so does ``deadline`` once it has passed
(the service's grace: every wait on the cluster ends with it, whoever waits).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from search.errors import SearchUnavailable

log = logging.getLogger("wirewatch.engine")
T = TypeVar("T")


class Halted(Exception):
    """The engine stopped waiting (deadline or grace period over): the caller drops its work."""


class EsGate:
    def __init__(self, halt: threading.Event, *, patience_s: float | None, max_backoff_s: float = 30.0) -> None:
        self._halt = halt
        self.patience_s = patience_s
        self.max_backoff_s = max_backoff_s
        self._lock = threading.Lock()
        self.down_since: float | None = None  # time.time() of the first failure of the current outage
        self.last_error: str | None = None
        self.outages = 0
        self.deadline: float | None = None  # time.monotonic() after which no call waits or starts

    def tail(self, halt: threading.Event) -> None:
        """Wait on ``halt`` from now on, the outage forgotten: after the ingest stages halted (a pass's deadline),
        the tail of the pass (the last matches, the reconcile, the outbox) still reaches the cluster. A call
        already waiting keeps the event it started with (a halted stage's call still ends at once)."""
        with self._lock:
            self._halt = halt
            self.down_since, self.last_error = None, None

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()``, retried through an outage (SearchUnavailable); other errors pass through."""
        attempt, halt = 0, self._halt
        while True:
            if halt.is_set() or (self.deadline is not None and time.monotonic() >= self.deadline):
                raise Halted()
            try:
                result = fn()
            except SearchUnavailable as exc:
                attempt += 1
                self._down(str(exc))
                if self.patience_s is not None and time.time() - (self.down_since or time.time()) > self.patience_s:
                    raise
                wait = min(self.max_backoff_s, 0.25 * 2 ** min(attempt, 10))
                if self.deadline is not None:
                    wait = max(0.0, min(wait, self.deadline - time.monotonic()))
                if halt.wait(wait):
                    raise Halted() from exc
                continue
            self._up()
            return result

    def try_call(self, fn: Callable[[], T]) -> T | None:
        """``fn()`` once: None when the cluster is unreachable (recorded as an outage), so a caller that must
        not block (the service's scheduler, which also writes the health line) tries again next round."""
        try:
            result = fn()
        except SearchUnavailable as exc:
            self._down(str(exc))
            return None
        self._up()
        return result

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def _down(self, error: str) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.time()
                self.outages += 1
                log.warning("Elasticsearch unreachable: holding writes and retrying (%s)", error)
            self.last_error = error

    def _up(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                log.warning("Elasticsearch is back after %.0f s: resuming", time.time() - self.down_since)
                self.down_since = None
