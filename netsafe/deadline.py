"""One deadline for a whole operation (a fetch with its DNS lookups, connects, redirects and retries).

``with deadline_in(30):`` sets it for the current thread (a ContextVar, so threads never see each other's);
everything below reads it: ``bounded`` caps a per-step timeout by the time left, and turns a timeout that the
deadline caused into ``DeadlineExceeded``. A nested ``deadline_in`` can only shorten the outer one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from netsafe.errors import DeadlineExceeded

T = TypeVar("T")
_DEADLINE: ContextVar[float | None] = ContextVar("netsafe_deadline", default=None)


@contextmanager
def deadline_in(seconds: float) -> Iterator[float]:
    """Everything inside must finish within ``seconds`` (and within any outer deadline); yields the
    deadline as a ``time.monotonic()`` value."""
    at = time.monotonic() + seconds
    outer = _DEADLINE.get()
    if outer is not None:
        at = min(at, outer)
    token = _DEADLINE.set(at)
    try:
        yield at
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (may be negative), or None when there is none."""
    at = _DEADLINE.get()
    return None if at is None else at - time.monotonic()


def check() -> None:
    """Raise DeadlineExceeded when the current deadline has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise DeadlineExceeded("deadline passed")


def bounded(
    step: Callable[[float | None], T],
    timeout: float | None,
    timeouts: tuple[type[BaseException], ...],
) -> T:
    """Run ``step(t)`` with ``t`` = ``timeout`` capped by the time left.

    When the cap came from the deadline and ``step`` times out (raises one of ``timeouts``), the deadline is
    what passed: DeadlineExceeded is raised instead, so callers can say so.
    """
    left = remaining()
    if left is None:
        return step(timeout)
    if left <= 0:
        raise DeadlineExceeded("deadline passed")
    if timeout is not None and timeout < left:
        return step(timeout)
    try:
        return step(left)
    except timeouts as exc:
        raise DeadlineExceeded("deadline passed") from exc
