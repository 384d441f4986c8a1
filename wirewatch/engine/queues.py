"""Bounded queues between the stages, and the two ways a stage waits on them without missing a halt."""

from __future__ import annotations

import queue
import threading
import time
from typing import Generic, TypeVar

from wirewatch.engine.gate import Halted

T = TypeVar("T")
POLL_S = 0.1  # how often a blocked stage looks at the halt flag


class Stage(Generic[T]):
    """A bounded queue with a close: ``get`` returns None once it is closed and empty."""

    def __init__(self, maxsize: int, halt: threading.Event) -> None:
        self._q: queue.Queue[T] = queue.Queue(maxsize=maxsize)
        self._halt = halt
        self._closed = threading.Event()

    def put(self, item: T) -> None:
        """Block while the queue is full (backpressure); raise Halted if the engine halts meanwhile."""
        while True:
            if self._halt.is_set():
                raise Halted()
            try:
                self._q.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def put_nowait(self, item: T) -> bool:
        try:
            self._q.put_nowait(item)
            return True
        except queue.Full:
            return False

    def get(self, timeout: float | None = None) -> T | None:
        """The next item; None when closed and drained, halted, or (with ``timeout``) nothing came in time."""
        ends = None if timeout is None else time.monotonic() + timeout
        while not self._halt.is_set():
            wait = POLL_S if ends is None else min(POLL_S, ends - time.monotonic())
            try:
                return self._q.get(timeout=max(0.0, wait))
            except queue.Empty:
                if self._closed.is_set() and self._q.empty():
                    return None
                if ends is not None and time.monotonic() >= ends:
                    return None
        return None

    def get_nowait(self) -> T | None:
        try:
            return self._q.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        self._closed.set()

    @property
    def closed_and_empty(self) -> bool:
        return self._closed.is_set() and self._q.empty()

    def qsize(self) -> int:
        return self._q.qsize()
