"""How far fetching may run ahead of the writer: pages fetched and not yet in a bulk write are bounded.

In a burst (a first pass, a feed that lists fifty new stories at once) pages come back faster than extraction
and the writer take them. Unbounded, every fetched page would wait in the queues behind the others with its
alert's clock running (the latency an alert consumer sees starts when the page is fetched); bounded, the pages
wait unfetched and each fetched page goes straight through. A fetch counts against the bound from its start,
so a fast host cannot overshoot it, but only while it is young: a fetch still running after ``slow_s`` is
waiting on the network and stops holding back the others (a slow host costs its own connection slots and
nothing more). Once its page is back it counts again, until its article goes into a bulk write (the next
pages are fetched and extracted while that write runs) or its entry settles without one.

    ticket()  ──▶ fetching (counts while younger than slow_s) ──fetched()──▶ held (counts) ──release()──▶ free

The cost, measured in ``bench/README.md``: in a burst the writes come in smaller batches, so the alert path
as a whole goes a little slower (the last alert of a burst leaves later) while each alert leaves sooner after
its page; ``engine_fetch_ahead`` 0 turns the bound off.
"""

from __future__ import annotations

import itertools
import threading
import time

from wirewatch.engine.gate import Halted

POLL_S = 0.1  # how often a waiting fetcher looks at the halt flag


class FetchAhead:
    """At most ``limit`` pages fetched (or young fetches) and not yet in a write (``limit`` 0: no bound)."""

    def __init__(self, limit: int, *, slow_s: float, halt: threading.Event) -> None:
        self.limit, self.slow_s = limit, slow_s
        self._halt = halt
        self._cond = threading.Condition()
        self._fetching: dict[int, float] = {}  # ticket number -> when its fetch started (monotonic)
        self._held = 0  # fetched, not yet released
        self._waiting = 0  # fetchers waiting for room
        self._numbers = itertools.count()

    def ticket(self) -> Ticket:
        """Wait for room, then count a fetch that starts now; raise Halted if the engine halts meanwhile."""
        with self._cond:
            self._waiting += 1
            try:
                while (wait := self._wait_s()) > 0:
                    if self._halt.is_set():
                        raise Halted()
                    self._cond.wait(timeout=min(wait, POLL_S))
            finally:
                self._waiting -= 1
            number = next(self._numbers)
            self._fetching[number] = time.monotonic()
        return Ticket(self, number)

    @property
    def blocking(self) -> bool:
        """A fetcher is waiting for room: what is in flight is all that will come until the next write."""
        with self._cond:
            return self._waiting > 0

    @property
    def in_use(self) -> int:
        with self._cond:
            return self._held + self._young(time.monotonic())

    def _wait_s(self) -> float:
        """0 when there is room now; else how long until a young fetch turns slow (or a poll interval)."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic()
        if self._held + self._young(now) < self.limit:
            return 0.0
        young = [started + self.slow_s - now for started in self._fetching.values() if now - started < self.slow_s]
        return max(0.001, min(young, default=POLL_S))

    def _young(self, now: float) -> int:
        return sum(1 for started in self._fetching.values() if now - started < self.slow_s)

    def _fetched(self, number: int) -> None:
        with self._cond:
            if self._fetching.pop(number, None) is not None:
                self._held += 1

    def _release(self, number: int, *, was_held: bool) -> None:
        with self._cond:
            if was_held:
                self._held -= 1
            else:
                self._fetching.pop(number, None)
            self._cond.notify_all()


class Ticket:
    """One page's place under the bound; ``release`` is idempotent (every path that settles the entry or
    writes its article calls it, and a second call changes nothing)."""

    __slots__ = ("_ahead", "_number", "_state")

    def __init__(self, ahead: FetchAhead, number: int) -> None:
        self._ahead, self._number = ahead, number
        self._state = "fetching"

    def fetched(self) -> None:
        """The page is back: it counts until released, however long its fetch took."""
        if self._state == "fetching":
            self._state = "held"
            self._ahead._fetched(self._number)

    def release(self) -> None:
        if self._state != "released":
            was_held = self._state == "held"
            self._state = "released"
            self._ahead._release(self._number, was_held=was_held)
