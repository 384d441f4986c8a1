"""Deliveries sent and not yet recorded: kept in memory and written again until Elasticsearch takes them.

A send must never be repeated because its record failed. The deliver step (``delivery.deliver_alerts``) and the
digests (``wirewatch.digests``) hand each record here right after the send; when Elasticsearch is unreachable
the record waits, and the next try writes what waits *first*, before anything is read or claimed again, so
the outbox never offers again what was already sent. A runner keeps one ``Unrecorded`` for its whole life
(the engine's deliverer); a write Elasticsearch refuses for good is logged and dropped (retrying it cannot
help; its claim lapses as after a crash, and the resend carries the same idempotency key).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from search.errors import SearchError, SearchUnavailable

log = logging.getLogger("wirewatch.delivery")


class Unrecorded:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # one writer at a time, records in the order of their sends
        self._writes: list[tuple[str, Callable[[], object]]] = []

    def __len__(self) -> int:
        return len(self._writes)

    def add(self, what: str, write: Callable[[], object]) -> None:
        """Remember ``write`` (the record of sends already made, described by ``what``) until it succeeds."""
        with self._lock:
            self._writes.append((what, write))

    def flush(self, *, patience_s: float = 0.0, max_backoff_s: float = 5.0) -> None:
        """Write what waits, oldest first. While Elasticsearch is unreachable, retry for ``patience_s`` seconds,
        then raise ``SearchUnavailable`` with the rest still waiting (the caller tries again later)."""
        began, attempt = time.monotonic(), 0
        while True:
            try:
                self._write_all()
                return
            except SearchUnavailable:
                attempt += 1
                wait = min(max_backoff_s, 0.25 * 2**attempt)
                if time.monotonic() + wait - began > patience_s:
                    raise
                time.sleep(wait)

    def _write_all(self) -> None:
        with self._lock:
            while self._writes:
                what, write = self._writes[0]
                try:
                    write()
                except SearchUnavailable:
                    raise
                except SearchError as exc:
                    log.error("recording %s was refused, dropped (they may be sent again): %s", what, exc)
                self._writes.pop(0)
