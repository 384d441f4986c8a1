"""Stopping ``wirewatch run`` (a real process) when things hang: the grace period bounds the whole stop, an
Elasticsearch outage (a real TCP proxy in front of the node, cut) and hung page fetches (an HTTP proxy that
holds the pages) included; a second SIGTERM stops at once, and what was in flight is taken up by the next
runner, nothing lost and nothing sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch

from seeds.server import SeedServer
from tests.support.alerting import Receiver
from tests.support.flow import TcpProxy, wait_until
from tests.support.proxy import HoldingProxy
from tests.support.seed_corpus import ALERTS, MESSAGES
from tests.test_crash_recovery import WIREWATCH, assert_exactly_once, pass_env, run_pass, wait_for_lapse
from tests.test_service import delivered

pytestmark = pytest.mark.slow
GRACE_S = 3.0
# past its grace, a stop may take this long to say "stopped" (the joins end with the grace; generous: two cores
# shared by many test runs); closing the extraction processes and exiting come after, timed loosely
AFTER_GRACE_S = 2.0
EXIT_S = 20.0
AT_ONCE_S = 10.0  # a second SIGTERM: the processes closed and the exit, no drain


class Service:
    """``wirewatch run`` as a process; its stderr lines with the moment each arrived."""

    def __init__(self, env: dict[str, str], *args: str, ner: bool = False, health_every: str = "1") -> None:
        self.proc = subprocess.Popen(
            [WIREWATCH, "run", "--health-every", health_every, *args],
            env={**env, "WIREWATCH_NER_ENABLED": str(ner).lower()},
            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line))

    @property
    def stderr(self) -> str:
        return "".join(line for _, line in self.lines)

    def said(self, text: str, since: float = 0.0) -> float | None:
        """When a line containing ``text`` arrived (after ``since``), or None."""
        return next((at for at, line in self.lines if at >= since and text in line), None)

    def sigterm(self) -> float:
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        return began

    def exited_within(self, limit_s: float) -> int:
        try:
            code = self.proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running {limit_s:g} s after SIGTERM: {self.stderr[-2000:]}") from None
        self._reader.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def test_sigterm_during_an_outage_stops_within_the_grace(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    target = urlsplit(es_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 9200) as cluster:
        service = Service(pass_env(cluster.url, index_prefix, seed_server.base_url, receiver.url, tmp_path),
                          "--grace", str(GRACE_S))  # fmt: skip
        try:
            assert wait_until(lambda: delivered(es, index_prefix) == ALERTS, timeout=180), service.stderr[-2000:]
            cluster.cut()  # an idle service, its cluster gone: the stop's reconcile finds it so
            time.sleep(1)
            began = service.sigterm()
            code = service.exited_within(GRACE_S + EXIT_S)
        finally:
            service.kill()
    assert code == 0, service.stderr[-3000:]
    stopped = service.said("stopped: ", since=began)
    assert stopped is not None and stopped - began < GRACE_S + AFTER_GRACE_S, service.stderr[-2000:]
    assert "grace period over" in service.stderr


def test_a_second_sigterm_stops_at_once_and_the_next_runner_loses_nothing(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    target = urlsplit(es_url)
    with (
        TcpProxy(target.hostname or "127.0.0.1", target.port or 9200) as cluster,
        HoldingProxy(seed_server.base_url, hold=r"/news/.*\.html$") as site,
    ):
        env = pass_env(cluster.url, index_prefix, site.url, receiver.url, tmp_path)
        service = Service(env, "--grace", "120")
        try:
            assert site.held.wait(timeout=180), "the service never fetched an article page"
            cluster.cut()
            site.release()  # the pages come in; their writes wait for the cluster
            assert wait_until(lambda: service.said("ELASTICSEARCH DOWN") is not None, timeout=30)
            service.sigterm()
            assert wait_until(lambda: service.said("draining") is not None, timeout=30)
            service.sigterm()
            code = service.exited_within(AT_ONCE_S)  # not the 120 s grace, nor the outage
        finally:
            service.kill()
        assert code == 3, service.stderr[-3000:]
        assert "stopped at once" in service.stderr
        assert not receiver.requests
        # the cluster is back: after the stopped runner's leases lapse, a pass takes up everything it left
        cluster.restore()
        wait_for_lapse(es, index_prefix)
        run_pass(env)
    assert_exactly_once(es, index_prefix, receiver)
    assert len(receiver.requests) == MESSAGES


def test_hung_page_fetches_do_not_stretch_the_grace(
    es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    with HoldingProxy(seed_server.base_url, hold=r"/news/.*\.html$") as site:
        service = Service(pass_env(es_url, index_prefix, site.url, receiver.url, tmp_path), "--grace", str(GRACE_S))
        try:
            assert site.held.wait(timeout=180), "the service never fetched an article page"
            time.sleep(1)  # the page fetches hang
            began = service.sigterm()
            code = service.exited_within(GRACE_S + EXIT_S)
        finally:
            service.kill()
    assert code == 0, service.stderr[-3000:]
    stopped = service.said("stopped: ", since=began)
    assert stopped is not None and stopped - began < GRACE_S + AFTER_GRACE_S, service.stderr[-2000:]
    assert "feed(s) left for the next start" in service.stderr
