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

# (url) -> (status, body); raises on transport failure. The fetcher gives it, so robots.txt obeys the guard.
RobotsLoader = Callable[[str], tuple[int, bytes]]


@dataclass
class _Entry:
    parser: RobotFileParser | None  # None: the whole host is disallowed for now
    expires: float


class RobotsCache:
    """Answers "may this user agent fetch this URL" from each host's robots.txt, cached for ``ttl_s``."""

    def __init__(self, load: RobotsLoader, *, user_agent: str, ttl_s: float = 3600.0) -> None:
        self._load = load
        self._agent = user_agent
        self._ttl = ttl_s
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        entry = self._entry(origin)
        return entry.parser is not None and entry.parser.can_fetch(self._agent, url)

    def _entry(self, origin: str) -> _Entry:
        with self._lock:
            host_lock = self._host_locks.setdefault(origin, threading.Lock())
        # One fetch per host even when many threads ask at once.
        with host_lock:
            entry = self._entries.get(origin)
            if entry is None or entry.expires < time.monotonic():
                entry = self._fetch(origin)
                self._entries[origin] = entry
            return entry

    def _fetch(self, origin: str) -> _Entry:
        expires = time.monotonic() + self._ttl
        try:
            status, body = self._load(f"{origin}/robots.txt")
        except Exception:
            return _Entry(parser=None, expires=expires)
        parser = RobotFileParser()
        if 200 <= status < 300:
            parser.parse(body.decode("utf-8", errors="replace").splitlines())
        elif 400 <= status < 500:
            parser.allow_all = True  # type: ignore[attr-defined]  # no robots.txt: everything allowed
        else:
            return _Entry(parser=None, expires=expires)
        return _Entry(parser=parser, expires=expires)
