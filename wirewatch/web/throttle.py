"""Bounds on signing in: how many password checks run at once, and how often a username or a client may try.

A password check is argon2id at 64 MiB and a good part of a core: unbounded, forty wrong logins at once took the
server from 81 MiB to 2.5 GiB and stalled everyone else. So checks run ``concurrency`` at a time (the others wait
on the event loop, holding no memory and no worker thread, and past ``8 x concurrency`` waiting they are turned
away), and each username and each client address gets ``free`` attempts (a client four times as many, since
several users may share one address), then one attempt per growing delay: ``delay``, doubled on every further
attempt, up to ``max_delay``. A throttled attempt is answered 429 with Retry-After before its password is looked
at, so the right password is refused too until the delay has passed. Attempts are counted when they are let in,
not when they fail: forty at once cannot all slip through before the first has failed. A successful sign-in
clears its username and gives the client its attempt back.

The state is in memory, per server process, and bounded (``MAX_KEYS``, least recently used dropped first).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

MAX_KEYS = 10_000
CLIENT_FACTOR = 4  # a client address may make this many times the attempts of one username
FORGET_AFTER_S = 3600.0  # an idle key starts afresh after this (or after max_delay, when that is longer)


class Busy(Exception):
    """Too many password checks are already waiting: try again in a moment."""


@dataclass
class _Key:
    attempts: int = 0
    locked_until: float = 0.0
    last: float = 0.0


@dataclass(frozen=True)
class Ticket:
    """An attempt let in: what ``succeeded`` needs to give the client its attempt back."""

    username: str
    client: str
    client_locked_before: float


class LoginThrottle:
    def __init__(
        self,
        *,
        concurrency: int,
        free: int,
        delay_s: float,
        max_delay_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.delay_s = delay_s
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._keys: OrderedDict[str, _Key] = OrderedDict()
        self._concurrency = concurrency
        self._semaphore: asyncio.Semaphore | None = None  # made on the server's loop, at first use
        self._waiting = 0

    def admit(self, username: str, client: str) -> Ticket | float:
        """A ticket when this attempt may check its password; else the seconds to wait before trying again.

        Called on the event loop with no await in between, so admitting is atomic."""
        now = self._clock()
        user_key, client_key = self._key("user", username, now), self._key("client", client, now)
        wait = max(user_key.locked_until, client_key.locked_until) - now
        if wait > 0:
            return wait
        client_locked_before = client_key.locked_until
        self._count(user_key, self.free, now)
        self._count(client_key, self.free * CLIENT_FACTOR, now)
        return Ticket(username=username, client=client, client_locked_before=client_locked_before)

    def failed(self, ticket: Ticket) -> None:
        """The delay an attempt set when it was let in counts from now, when its check has ended (a check can
        take longer than the first delay on a busy machine)."""
        now = self._clock()
        for name, free in ((_name("user", ticket.username), self.free),
                           (_name("client", ticket.client), self.free * CLIENT_FACTOR)):  # fmt: skip
            key = self._keys.get(name)
            if key is not None and key.attempts > free:
                key.locked_until = max(key.locked_until, now + self._delay(key.attempts - free))

    def succeeded(self, ticket: Ticket) -> None:
        self._keys.pop(_name("user", ticket.username), None)
        client_key = self._keys.get(_name("client", ticket.client))
        if client_key is not None:
            client_key.attempts = max(0, client_key.attempts - 1)
            client_key.locked_until = ticket.client_locked_before

    @asynccontextmanager
    async def checking(self) -> AsyncIterator[None]:
        """One of the ``concurrency`` password checks; raises Busy when too many already wait for one."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._concurrency)
        if self._waiting >= 8 * self._concurrency:
            raise Busy("too many sign-ins are being checked at once")
        self._waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()

    def _count(self, key: _Key, free: int, now: float) -> None:
        key.attempts += 1
        key.last = now
        beyond = key.attempts - free
        if beyond > 0:  # this attempt is let in; the next one waits, longer each time
            key.locked_until = now + self._delay(beyond)

    def _delay(self, beyond: int) -> float:
        return min(self.max_delay_s, self.delay_s * 2 ** min(beyond - 1, 60))

    def _key(self, kind: str, value: str, now: float) -> _Key:
        name = _name(kind, value)
        key = self._keys.get(name)
        if key is None or (now - key.last > max(FORGET_AFTER_S, self.max_delay_s) and key.locked_until <= now):
            key = _Key(last=now)
        self._keys[name] = key
        self._keys.move_to_end(name)
        while len(self._keys) > MAX_KEYS:
            self._keys.popitem(last=False)
        return key


def _name(kind: str, value: str) -> str:
    return f"{kind}:{value[:200]}"


def retry_after(seconds: float) -> str:
    """The Retry-After header's value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
