"""Per-host slots that cost no thread while waiting.

The poll and fetch stages have one thread per connection. A thread that blocked on a full host (a host
whose every slot hangs) would be a thread, and a shared connection slot, taken from every other host: 24
hanging feeds on one host kept feeds of healthy hosts from their first poll until the hanging ones timed out.
So a job whose host is full is parked here instead, and its thread takes the next job; the thread that frees
a slot of that host runs the next parked job itself (the slot passes to it without being freed). A parked
job therefore always has a thread that will run it: the one holding its host's slot.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar
from urllib.parse import urlsplit

J = TypeVar("J")


def host_of(url: str) -> str:
    """The host key, as the fetcher's own per-host limit spells it (host and port)."""
    return urlsplit(url).netloc.lower()


class HostSlots(Generic[J]):
    """At most ``per_host`` jobs running per host; the others parked in arrival order."""

    def __init__(self, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._lock = threading.Lock()
        self._busy: dict[str, int] = {}
        self._parked: dict[str, deque[J]] = {}

    def take_or_park(self, host: str, job: J) -> bool:
        """True: the caller holds a slot of ``host`` and runs ``job``. False: ``job`` is parked (the caller
        goes on with other work; the holder of a slot of ``host`` will run it)."""
        with self._lock:
            if self._busy.get(host, 0) < self.per_host:
                self._busy[host] = self._busy.get(host, 0) + 1
                return True
            self._parked.setdefault(host, deque()).append(job)
            return False

    def hand_over(self, host: str) -> J | None:
        """The caller is done with its slot of ``host``: returns the next parked job, which the caller now
        runs in that same slot, or None when nothing waits (the slot is freed)."""
        with self._lock:
            waiting = self._parked.get(host)
            if waiting:
                job = waiting.popleft()
                if not waiting:
                    del self._parked[host]
                return job
            left = self._busy.get(host, 1) - 1
            if left > 0:
                self._busy[host] = left
            else:
                self._busy.pop(host, None)
            return None

    @property
    def parked(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._parked.values())
