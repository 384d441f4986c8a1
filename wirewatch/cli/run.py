"""``wirewatch run``: the long-running service (feeds polled when due, health lines, graceful stop)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

import click

from wirewatch.cli.common import err_console, fail, runtime_from
from wirewatch.summary import ExitStatus, write_summary

if TYPE_CHECKING:
    from wirewatch.service import Service


class StopNow(BaseException):
    """A second SIGTERM or Ctrl-C: stop without draining (BaseException: no stage's handler swallows it)."""


@contextmanager
def serving_metrics(service: Service, say: Callable[[str], None]) -> Iterator[None]:
    """/metrics and /healthz on ``run_metrics_port`` while the service runs (nothing when it is not set)."""
    from wirewatch.health import MetricsServer
    from wirewatch.metrics import registry_for

    s = service.rt.settings
    if s.run_metrics_port is None:
        yield
        return
    try:
        server = MetricsServer(s.run_metrics_host, s.run_metrics_port, registry_for(service.reading), service.health)
    except OSError as exc:
        where = f"{s.run_metrics_host}:{s.run_metrics_port}"
        hint = "pick a free port (WIREWATCH_RUN_METRICS_PORT) or leave it unset"
        fail(f"cannot serve metrics on {where}: {exc}", hint=hint, code=int(ExitStatus.NOT_RUN))
    with server:
        say(f"metrics on http://{s.run_metrics_host}:{server.port}/metrics, health on /healthz")
        yield


@click.command("run")
@click.option("--feeds", "feeds_file", type=click.Path(exists=True, dir_okay=False), help="YAML feed list.")
@click.option("--health-every", type=float, help="Seconds between health lines (default: run_health_every_s).")
@click.option("--grace", type=float, help="Seconds to drain in-flight work when stopped (default: run_grace_s).")
@click.pass_context
def cli(ctx: click.Context, feeds_file: str | None, health_every: float | None, grace: float | None) -> None:
    """Run as a service: poll each feed when it is due, index, alert and deliver as articles arrive.

    A health line goes to stderr every few minutes. SIGTERM or Ctrl-C stops polling, drains the work in
    flight within the grace period (an outage included), commits feed state and exits 0; a second signal stops
    at once (exit 3), leaving what was in flight uncommitted for the next start. An Elasticsearch outage is
    waited out: writes are held and retried, and the health line says so.
    """
    from wirewatch.runtime import ConfigError
    from wirewatch.service import Service

    overrides = {"feeds_file": feeds_file} if feeds_file else {}
    rt = runtime_from(ctx, **overrides)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            raise StopNow(name)  # from the main thread's wait, wherever the drain is
        err_console.print(f"{name}: stopping", highlight=False)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def health(line: str) -> None:
        err_console.print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}", highlight=False, markup=False)

    try:
        with rt.tools() as tools:
            service = Service(rt, tools, on_health=health, health_every_s=health_every, grace_s=grace)
            with serving_metrics(service, health):
                summary = service.run(stop)
    except ConfigError as exc:
        fail(str(exc), hint="fix the file it names", code=int(ExitStatus.NOT_RUN))
    except StopNow as now:
        # Nothing is lost: uncommitted feeds are polled again, alerts wait in the outbox, leases and claims
        # lapse. Threads still sending or waiting are not waited for (the processes were closed above).
        health(f"{now}: stopped at once; work in flight left uncommitted for the next start")
        sys.stderr.flush()
        os._exit(int(ExitStatus.PARTIAL))
    write_summary(rt.settings.summary_file, summary.to_dict())
    sys.exit(int(ExitStatus.NOT_RUN) if summary.fatal else 0)
