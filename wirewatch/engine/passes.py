"""One pass through the engine: the due feeds in, every stage drained, the summary out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ingest.state import due_feeds
from wirewatch.delivery import close_channels
from wirewatch.engine.core import Engine
from wirewatch.engine.gate import Halted
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.progress import Progress
from wirewatch.steps import Step
from wirewatch.summary import PassSummary

if TYPE_CHECKING:
    from ingest.feedlist import FeedSpec
    from wirewatch.runtime import PassTools, Runtime

log = logging.getLogger("wirewatch.engine")
PROGRESS_EVERY_S = 0.5


def run_engine(
    rt: Runtime,
    tools: PassTools,
    feeds: Sequence[FeedSpec],
    *,
    summary: PassSummary | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    deadline_s: float | None = None,
    stop_event: threading.Event | None = None,
    only_due: bool = True,
    channels: dict[str, Any] | None = None,
    options: EngineOptions | None = None,
    now: Callable[[], datetime] | None = None,
) -> PassSummary:
    """Run ``feeds`` (the due ones, unless ``only_due`` is False) through the engine once.

    ``deadline_s`` (default: the ``pass_deadline_s`` setting) bounds the pass: feeds unfinished by then are
    abandoned, their state not committed, and named in ``summary.abandoned``. ``stop_event`` set from
    outside ends the pass the same way. Indices must exist (``pipeline.ensure_indices``). Never raises for
    bad input; an Elasticsearch outage longer than ``es_outage_patience_s`` makes the summary ``fatal``.
    ``channels`` are used and not closed (default: the runtime's, closed at the end). ``now`` is the clock
    polls and feed states are dated by (tests move it forward).
    """
    from search.errors import SearchError

    summary = summary if summary is not None else PassSummary()
    opts = options or EngineOptions.from_settings(rt.settings)
    limit = deadline_s if deadline_s is not None else opts.pass_deadline_s
    deadline = time.monotonic() + limit if limit else None
    owned = channels is None
    chans = rt.channels() if channels is None else channels
    engine = Engine(rt, tools, options=opts, summary=summary, channels=chans, now=now)
    engine.ledger.deadline = deadline  # deliveries end by it too, the last ones included
    stop = stop_event or threading.Event()
    last = [0.0]

    def tick() -> None:
        if on_progress is not None and time.monotonic() - last[0] >= PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            on_progress(engine.snapshot())

    try:
        engine.load_states([f.id for f in feeds])
        at = engine.now()
        due = due_feeds(feeds, engine.ledger.states, at) if only_due else list(feeds)
        if len(feeds) > len(due):
            summary.feeds["not_due"] += len(feeds) - len(due)
        engine.start()
        engine.submit_all(due, only_due=only_due)
        engine.close_input()
        finished = engine.wait_idle(deadline, on_tick=tick, stop=stop)
        if engine.ledger.fatal_error is not None:
            raise engine.ledger.fatal_error
        if not finished:
            why = "stopped" if stop.is_set() else f"pass deadline of {limit:g} s passed"
            abandoned = engine.abandon_open(f"{why} before the feed finished: abandoned, state not committed")
            log.warning("%s: %d feed(s) abandoned", why, len(abandoned))
        drain(engine, deadline, on_progress)
    except Halted:
        pass
    except SearchError as exc:
        log.error("pass stopped: %s", exc)
        summary.fatal = str(exc)
        engine.abandon_open(f"Elasticsearch failed: {exc}")
    except Exception as exc:  # a defect in a stage: the pass ends with the reason, its feeds uncommitted
        log.exception("pass stopped by an engine failure")
        summary.fatal = f"engine failure: {type(exc).__name__}: {exc}"
        engine.abandon_open(summary.fatal)
    finally:
        engine.stop_threads()
        report_unrecorded(engine)
        for stage, seconds in engine.ledger.stage_busy.items():
            summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + seconds
        if owned:
            close_channels(chans)
        if on_progress is not None:
            on_progress(engine.snapshot())
    return summary


def drain(
    engine: Engine,
    deadline: float | None,
    on_progress: Callable[[Progress], None] | None,
    *,
    stop_by: float | None = None,
) -> None:
    """After the last feed: the matcher's last batches, the reconcile, the outbox, then NER's backlog.

    Runs on a fresh gate when the ingest stages were halted (deadline): the articles already written still
    get their alerts, and what NER did not reach stays in the index for the next pass. ``stop_by`` (monotonic;
    the service's grace) bounds all of it, an outage included: past it, this raises ``Halted`` and what is
    left (the reconcile, the outbox, NER) waits in the index for the next start."""
    halted = engine.halt.is_set()
    if halted:
        engine.gate.tail(threading.Event())
    engine.gate.deadline = stop_by
    for stage in (engine.feeds, engine.pages, engine.extracts, engine.articles):
        stage.close()
    engine.matcher.close()
    _join(engine, "match", _left(stop_by))
    engine.deliverer.stop_delivering.set()
    _join(engine, "deliver", _left(stop_by))
    if _alive(engine, "match") or _alive(engine, "deliver"):
        raise Halted()  # still waiting for the cluster when the time was up (their own gate calls end now too)
    with engine.summary.timed(Step.MATCH):
        engine.matcher.reconcile()
    engine.deliverer.deliver_all()
    if halted:
        return
    engine.ner.close()
    while _alive(engine, "ner"):
        if deadline is not None and time.monotonic() > deadline:
            engine.halt.set()  # the rest of NER's backlog stays in the index for the next pass
            if stop_by is not None:
                raise Halted()  # a batch still in a NER process is not waited for
        _join(engine, "ner", timeout=PROGRESS_EVERY_S)
        if on_progress is not None:
            on_progress(engine.snapshot())


def report_unrecorded(engine: Engine) -> None:
    """Sends whose record never reached Elasticsearch (the pass gave up on the outage): said, not hidden."""
    left = len(engine.deliverer.unrecorded)
    if left:
        reason = (
            f"{left} delivery record(s) not written (Elasticsearch unreachable): sent again, with the same "
            "idempotency key, once their claims lapse"
        )
        log.error(reason)
        engine.ledger.fail(Step.DELIVER, "records", reason, transient=True)


def _left(stop_by: float | None) -> float | None:
    return None if stop_by is None else max(0.0, stop_by - time.monotonic())


def _alive(engine: Engine, name: str) -> bool:
    return any(t.is_alive() for t in engine.threads(name))


def _join(engine: Engine, name: str, timeout: float | None = None) -> None:
    for thread in engine.threads(name):
        thread.join(timeout)
