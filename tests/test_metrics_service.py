"""``wirewatch run``'s metrics port as a real process: ``/metrics`` scraped over HTTP and parsed with
prometheus_client's parser, its counts equal to the summary the run writes when stopped; ``/healthz`` 200 while
the node answers, 503 while a TCP proxy in front of it is cut, 200 again once it is restored."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from seeds.server import SeedServer
from tests.support.alerting import Receiver
from tests.support.flow import TcpProxy
from tests.support.proxy import HoldingProxy
from tests.support.seed_corpus import ALERTS, ARTICLES
from tests.test_crash_recovery import WIREWATCH, pass_env
from tests.test_engine_flow import wait_until

pytestmark = pytest.mark.slow
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and sorted labels (prometheus_client's own parser)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(base: str) -> Samples:
    status, body = get(base + "/metrics")
    return parse(body.decode()) if status == 200 else {}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def health(base: str) -> tuple[int, dict[str, Any]]:
    status, body = get(base + "/healthz")
    return status, (json.loads(body) if body else {})


def settled(base: str) -> bool:
    m = scrape(base)
    return (
        value(m, "wirewatch_articles_total", state="indexed") == ARTICLES
        and value(m, "wirewatch_deliveries_total", channel="hook", state="delivered") == ALERTS
        and value(m, "wirewatch_feeds_in_flight") == 0
        and value(m, "wirewatch_ner_backlog") == 0
    )


def assert_counts_match(m: Samples, summary: dict[str, Any]) -> None:
    for status in ("ok", "not_modified", "failed"):
        assert value(m, "wirewatch_feeds_polled_total", status=status) == summary["feeds"].get(status, 0), status
    for reason, count in summary["feed_failures"].items():
        assert value(m, "wirewatch_feeds_failed_total", reason=reason) == count
    for state, count in summary["entries"].items():
        assert value(m, "wirewatch_articles_total", state=state) == count, state
    assert value(m, "wirewatch_pages_fetched_total") == summary["pages_fetched"] >= ARTICLES
    assert value(m, "wirewatch_alerts_total", outcome="created") == summary["alerts"]["created"] == ALERTS
    for channel, states in summary["channel_deliveries"].items():
        for state, count in states.items():
            assert value(m, "wirewatch_deliveries_total", channel=channel, state=state) == count


def test_run_serves_metrics_matching_its_summary_and_health_follows_the_node(
    es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    target = urlsplit(es_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 9200) as node:
        env = {
            **pass_env(node.url, index_prefix, seed_server.base_url, receiver.url, tmp_path),
            "WIREWATCH_NER_ENABLED": "false", "WIREWATCH_RUN_METRICS_PORT": str(port),
            "WIREWATCH_ES_REQUEST_TIMEOUT_S": "5",
        }  # fmt: skip
        log = (tmp_path / "stderr.log").open("w")  # a file: health lines every second would fill a pipe
        command = [WIREWATCH, "run", "--grace", "30", "--health-every", "1"]
        proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log)
        try:
            assert wait_until(lambda: settled(base), timeout=180), scrape(base)
            status, body = health(base)
            assert status == 200 and body["status"] == "ok", body
            assert body["checks"]["elasticsearch"]["answers"] and body["checks"]["progress"]["ok"]
            assert value(scrape(base), "wirewatch_elasticsearch_up") == 1

            node.cut()
            assert wait_until(lambda: health(base)[0] == 503, timeout=60)
            status, body = health(base)
            assert body["status"] == "failing" and body["checks"]["elasticsearch"]["answers"] is False, body
            assert es_url not in json.dumps(body)  # the check names the error's type, never the node's address
            assert wait_until(lambda: value(scrape(base), "wirewatch_elasticsearch_up") == 0, timeout=60)

            node.restore()
            assert wait_until(lambda: health(base)[0] == 200, timeout=60)
            last = scrape(base)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
    stderr = (tmp_path / "stderr.log").read_text()
    assert proc.returncode == 0, stderr[-3000:]
    assert f"metrics on {base}/metrics" in stderr
    summary = json.loads((tmp_path / "last-pass.json").read_text())
    assert_counts_match(last, summary)
    outage = value(last, "wirewatch_elasticsearch_outage_seconds_total")
    assert 0 < outage <= summary["es_outage_s"]


def test_health_fails_while_work_in_flight_stops_moving(
    es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    """A page held by a proxy keeps its feed in flight with nothing moving: past ``health_progress_bound_s``
    ``/healthz`` says 503 (progress), the node still answering; once released the work moves and it is 200."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with HoldingProxy(seed_server.base_url, hold=r"/news/.*\.html$") as site:
        env = {
            **pass_env(es_url, index_prefix, site.url, receiver.url, tmp_path),
            "WIREWATCH_NER_ENABLED": "false", "WIREWATCH_RUN_METRICS_PORT": str(port),
            "WIREWATCH_HEALTH_PROGRESS_BOUND_S": "3",
            # a held page stays in flight (no read timeout or retry ends it) until the test releases it
            "WIREWATCH_HTTP_READ_TIMEOUT_S": "110", "WIREWATCH_HTTP_RETRIES": "0",
        }  # fmt: skip
        log = (tmp_path / "stderr.log").open("w")
        proc = subprocess.Popen([WIREWATCH, "run", "--grace", "30"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
        try:
            assert site.held.wait(timeout=180), "the service never fetched an article page"
            assert wait_until(lambda: health(base)[0] == 503, timeout=60)
            body = health(base)[1]
            assert body["checks"]["progress"]["ok"] is False and body["checks"]["elasticsearch"]["answers"], body
            assert body["checks"]["progress"]["seconds_since"] >= 3  # past the bound (3.04 s shows as 3.0)
            site.release()
            assert wait_until(lambda: health(base)[0] == 200, timeout=120)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        finally:
            site.release()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
    assert proc.returncode == 0, (tmp_path / "stderr.log").read_text()[-3000:]
