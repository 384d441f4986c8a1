"""robots.txt for article pages, fetched once per host and cached (RFC 9309 semantics).

A missing robots.txt (4xx) allows everything; a server error or an unreachable host disallows the host for the
cache lifetime, as RFC 9309 asks ("assume complete disallow"), so a struggling site is not crawled harder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from ingest.errors import BlockedURLError
from netsafe import DeadlineExceeded, remaining

# (url) -> (status, body); raises on transport failure. The fetcher gives it, so robots.txt obeys the guard.
RobotsLoader = Callable[[str], tuple[int, bytes]]


@dataclass
class _Entry:
    parser: RobotFileParser | None  # None: the whole host is disallowed for now, for ``why``
    expires: float
    why: str = ""


class RobotsCache:
    """Answers "may this user agent fetch this URL" from each host's robots.txt, cached for ``ttl_s``."""

    def __init__(self, load: RobotsLoader, *, user_agent: str, ttl_s: float = 3600.0) -> None:
        self._load = load
        self._agent = user_agent
        self._ttl = ttl_s
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}

    def refusal(self, url: str) -> tuple[str, bool] | None:
        """(why robots.txt forbids ``url``, whether that may pass), or None when it may be fetched.

        An unreachable robots.txt or a 5xx is passing: the page is worth trying again on a later pass.
        """
        parts = urlsplit(url)
        entry = self._entry(f"{parts.scheme}://{parts.netloc}")
        if entry.parser is None:
            return entry.why, True
        return None if entry.parser.can_fetch(self._agent, url) else ("disallowed by robots.txt", False)

    def _entry(self, origin: str) -> _Entry:
        with self._lock:
            host_lock = self._host_locks.setdefault(origin, threading.Lock())
        # One fetch per host even when many threads ask at once. The loader runs within the deadline of the
        # fetch that holds the lock; the others wait no longer than their own deadline.
        left = remaining()
        if not host_lock.acquire(timeout=-1 if left is None else max(left, 0.0)):
            raise DeadlineExceeded(f"robots.txt of {origin} still loading for another request")
        try:
            entry = self._entries.get(origin)
            if entry is None or entry.expires < time.monotonic():
                entry = self._fetch(origin)
                self._entries[origin] = entry
            return entry
        finally:
            host_lock.release()

    def _fetch(self, origin: str) -> _Entry:
        expires = time.monotonic() + self._ttl
        try:
            status, body = self._load(f"{origin}/robots.txt")
        except BlockedURLError:
            raise  # the page itself is refused for the same reason: say that, not "robots"
        except Exception as exc:
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            return _Entry(parser=None, expires=expires, why=f"robots.txt unavailable ({reason}): host skipped")
        parser = RobotFileParser()
        if 200 <= status < 300:
            parser.parse(body.decode("utf-8", errors="replace").splitlines())
        elif 400 <= status < 500:
            parser.allow_all = True  # type: ignore[attr-defined]  # no robots.txt: everything allowed
        else:
            return _Entry(parser=None, expires=expires, why=f"robots.txt answered HTTP {status}: host skipped")
        return _Entry(parser=parser, expires=expires)
