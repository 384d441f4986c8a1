"""A pool of extraction processes with a deadline per page.

concurrent.futures cannot stop one running task, so this pool keeps its own worker processes, each fed one
page at a time over a pipe. A page still running at its deadline (deeply nested or huge single-line HTML can
keep lxml busy for minutes) gets its worker killed and replaced, and is recorded as failed; a worker that dies
(out of memory, a crash in C code) is replaced the same way. Both failures are ``transient``: on a busy machine
a page that needs a little longer than the deadline, or a worker the OOM killer picked, may well succeed on a
later pass, so the caller retries them (up to a cap). Workers are spawned, not forked: the parent runs HTTP
threads, and forking a threaded process is unsafe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import cast

from ingest.errors import ExtractionError
from ingest.extract import Article, PageInput, TooShort, extract_article


@dataclass(frozen=True)
class PageOutcome:
    """Exactly one of: an article, a skip reason (too little text), or a failure reason.

    ``transient`` marks a failure of the pool rather than of the page (deadline passed, worker died): another
    attempt may succeed. A failure the extractor itself reported is about the page and stays permanent.
    """

    article: Article | None = None
    skipped: str | None = None
    error: str | None = None
    transient: bool = False
    extra: object | None = None  # what the pool's ``after`` step made of the article (None: not run, or failed)


# Work the caller wants done on each article in the worker process, right after extraction: a picklable
# callable (it is sent to each worker when the worker starts). It may have a ``warm_up()`` method.
AfterExtract = Callable[[Article], object]


def _worker_main(conn: Connection, after: AfterExtract | None = None) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when workers stop (it closes
    # their pipes), so a worker neither dies mid-page nor prints a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import trafilatura  # noqa: F401  (warm the import before the first page so it is not billed to a page)

    warm_up = getattr(after, "warm_up", None)
    if callable(warm_up):
        with contextlib.suppress(Exception):  # a step that cannot start fails per article: the caller does it
            warm_up()

    while True:
        try:
            page = conn.recv()
        except EOFError:  # the parent went away
            return
        if page is None:
            return
        try:
            article = extract_article(page)
            outcome = PageOutcome(article=article, extra=_after(after, article))
        except TooShort as exc:
            outcome = PageOutcome(skipped=str(exc))
        except ExtractionError as exc:
            outcome = PageOutcome(error=str(exc))
        except Exception as exc:  # anything else is this page's failure, not the worker's
            outcome = PageOutcome(error=f"extraction crashed: {type(exc).__name__}: {exc}")
        conn.send(outcome)


def _after(after: AfterExtract | None, article: Article) -> object | None:
    """The ``after`` step's result; None when there is none or it failed (the caller then does that work
    itself: a bug there must not cost the article)."""
    if after is None:
        return None
    try:
        return after(article)
    except Exception:
        return None


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    job: object | None = None  # the caller's key of the page being extracted
    deadline: float = 0.0


class ExtractPool:
    """``run(pages)`` extracts pages on ``workers`` processes; one PageOutcome per page, in order.

    A streaming caller uses ``submit(key, page)`` while ``free`` and ``results(timeout)`` instead. ``after``
    runs on each article in the worker too (its result in ``PageOutcome.extra``): per-article CPU work moved
    off the caller's process, which runs the network threads and the writer under one interpreter lock."""

    def __init__(self, *, workers: int = 2, deadline_s: float = 20.0, after: AfterExtract | None = None) -> None:
        if workers < 1:
            raise ValueError("an extraction pool needs at least one worker")
        self.deadline_s = deadline_s
        self.after = after  # run on each article in the worker (``PageOutcome.extra``)
        self._ctx = multiprocessing.get_context("spawn")
        self._workers = [self._start_worker() for _ in range(workers)]
        self.replaced = 0  # workers killed or dead and replaced, for the pass summary

    def __enter__(self) -> ExtractPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main, args=(child, self.after), daemon=True, name="wirewatch-extract"
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def run(self, pages: Sequence[PageInput]) -> list[PageOutcome]:
        results: list[PageOutcome | None] = [None] * len(pages)
        pending = deque(range(len(pages)))
        while pending or self.busy:
            while pending and self.free:
                job = pending.popleft()
                self.submit(job, pages[job])
            for key, outcome in self.results(timeout=None):
                results[cast(int, key)] = outcome
        return [r if r is not None else PageOutcome(error="lost by the pool", transient=True) for r in results]

    # --- streaming: the engine feeds pages as they arrive and takes outcomes as they finish ---------------
    @property
    def free(self) -> int:
        """Workers idle now: ``submit`` may be called this many times before ``results``."""
        return sum(1 for w in self._workers if w.job is None)

    @property
    def busy(self) -> int:
        return len(self._workers) - self.free

    def submit(self, key: object, page: PageInput) -> None:
        """Start extracting ``page`` on an idle worker; its outcome comes back from ``results`` with ``key``."""
        worker = next((w for w in self._workers if w.job is None), None)
        if worker is None:
            raise RuntimeError("no idle extraction worker: wait for results first")
        worker.job = key
        worker.deadline = time.monotonic() + self.deadline_s
        try:
            worker.conn.send(page)
        except (OSError, ValueError):
            worker.job = None
            self._replace(worker)  # a worker that died while idle: the page goes to its replacement
            self.submit(key, page)

    def results(self, timeout: float | None) -> list[tuple[object, PageOutcome]]:
        """Outcomes finished within ``timeout`` seconds (None: until the first one or a deadline passes)."""
        busy = [w for w in self._workers if w.job is not None]
        if not busy:
            return []
        until_deadline = max(0.0, min(w.deadline for w in busy) - time.monotonic())
        limit = until_deadline if timeout is None else min(timeout, until_deadline)
        ready = wait([w.conn for w in busy], timeout=limit)
        done: list[tuple[object, PageOutcome]] = []
        for worker in busy:
            job = worker.job
            if worker.conn in ready:
                try:
                    outcome = worker.conn.recv()
                    worker.job = None
                except (EOFError, OSError):
                    code = worker.process.exitcode
                    outcome = PageOutcome(error=f"extraction worker died (exit code {code})", transient=True)
                    self._replace(worker)
                done.append((job, outcome))
            elif time.monotonic() >= worker.deadline:
                outcome = PageOutcome(
                    error=f"extraction deadline of {self.deadline_s:g} s passed: worker killed and replaced",
                    transient=True,
                )
                self._replace(worker)
                done.append((job, outcome))
        return done

    def _replace(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        fresh = self._start_worker()
        worker.process, worker.conn, worker.job = fresh.process, fresh.conn, None
        self.replaced += 1

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):  # a worker already gone needs no goodbye
                worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)
            worker.conn.close()
        self._workers = []
