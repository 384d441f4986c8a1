"""The workbench's ``/metrics`` and ``/healthz`` on a real uvicorn server with sign-in on: open without a
login, the counts equal to the summary a real ``wirewatch ingest`` wrote and to what the index holds, nothing
secret shown; ``/healthz`` 503 while a TCP proxy in front of the node is cut, 200 once it is back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from seeds.server import SeedServer
from tests.support.alerting import Receiver
from tests.support.flow import TcpProxy
from tests.support.seed_corpus import ALERTS, ARTICLES
from tests.support.web import WebServer, web_settings
from tests.test_crash_recovery import WIREWATCH, pass_env
from tests.test_engine_flow import wait_until
from tests.test_metrics_service import assert_counts_match, parse, value

pytestmark = pytest.mark.slow


def test_workbench_metrics_and_health_without_sign_in(
    es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    env = {**pass_env(es_url, index_prefix, seed_server.base_url, receiver.url, tmp_path),
           "WIREWATCH_NER_ENABLED": "false"}  # fmt: skip
    done = subprocess.run([WIREWATCH, "ingest"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 3), done.stderr[-3000:]  # 3: the seed feeds link two pages that answer 404
    summary = json.loads((tmp_path / "last-pass.json").read_text())
    assert summary["entries"]["indexed"] == ARTICLES and summary["entries"]["failed"] == 2
    target = urlsplit(es_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 9200) as node:
        settings = web_settings(node.url, index_prefix, tmp_path, auth=True).model_copy(
            update={"es_max_retries": 0, "es_request_timeout_s": 120}
        )
        with WebServer(settings) as web, httpx.Client(base_url=web.url, timeout=30) as client:
            answer = client.get("/metrics")
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
            assert receiver.url not in answer.text and node.url not in answer.text and es_url not in answer.text
            m = parse(answer.text)
            assert_counts_match(m, summary)
            assert value(m, "wirewatch_articles_stored") == ARTICLES
            assert value(m, "wirewatch_deliveries_stored", channel="hook", state="delivered") == ALERTS
            assert value(m, "wirewatch_queue_depth", queue="outbox") == 0
            assert value(m, "wirewatch_ner_backlog") == ARTICLES  # NER was off: every article waits for it
            assert value(m, "wirewatch_elasticsearch_up") == 1
            assert client.get("/alerts", follow_redirects=False).status_code in (302, 303, 401)  # the rest: sign-in

            health = client.get("/healthz")
            assert health.status_code == 200, health.text
            assert health.json()["checks"]["progress"]["ok"] and health.json()["checks"]["elasticsearch"]["answers"]

            node.cut()
            assert wait_until(lambda: client.get("/healthz").status_code == 503, timeout=60)
            body = client.get("/healthz").json()
            assert body["status"] == "failing" and body["checks"]["elasticsearch"]["answers"] is False
            assert node.url not in json.dumps(body)
            assert value(parse(client.get("/metrics").text), "wirewatch_elasticsearch_up") == 0
            node.restore()
            assert wait_until(lambda: client.get("/healthz").status_code == 200, timeout=60)
