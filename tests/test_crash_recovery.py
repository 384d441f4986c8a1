"""A pass killed with SIGKILL at any point and run again: every article indexed once, every alert delivered once.

The pass runs as a real ``wirewatch ingest --once`` process. A real proxy on loopback sits in front of the
component of interest and holds the first request of the chosen kind (an article page, a ``_bulk`` write, a
webhook POST); the test then kills the whole process group with SIGKILL, releases the proxy (the held request
goes on, as a request in flight would) and runs the pass again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from seeds.server import SeedServer
from tests.support.alerting import Receiver
from tests.support.proxy import HoldingProxy

pytestmark = pytest.mark.slow
WIREWATCH = str(Path(sys.executable).with_name("wirewatch"))


def pass_env(es_url: str, prefix: str, feeds_base: str, hook_url: str, tmp_path: Path) -> dict[str, str]:
    channels = tmp_path / "channels.yaml"
    channels.write_text(yaml.safe_dump({"channels": [{"name": "hook", "type": "webhook", "url": hook_url}]}))
    return {
        **os.environ,
        "WIREWATCH_ES_URL": es_url,
        "WIREWATCH_ES_INDEX_PREFIX": prefix,
        "WIREWATCH_FEEDS_BASE_URL": feeds_base,
        "WIREWATCH_HTTP_ALLOW_LOOPBACK": "true",
        "WIREWATCH_DELIVERY_ALLOW_LOOPBACK": "true",
        "WIREWATCH_CHANNELS_FILE": str(channels),
        "WIREWATCH_EXTRACT_WORKERS": "1",
        "WIREWATCH_NER_WORKERS": "1",
        "WIREWATCH_ES_MAX_RETRIES": "1",
    }


def kill_when_held(
    env: dict[str, str], proxy: HoldingProxy, command: tuple[str, ...] = ("ingest", "--once", "--json")
) -> None:
    """Start a pass (or the service), wait until the proxy holds its request, SIGKILL it and all it started."""
    proc = subprocess.Popen(
        [WIREWATCH, *command], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proxy.held.wait(timeout=180), "the pass never reached the held request"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    proxy.release()


def run_pass(env: dict[str, str]) -> None:
    done = subprocess.run([WIREWATCH, "ingest", "--once", "--json", "--all-feeds"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode in (0, 3), done.stderr[-3000:]


def assert_exactly_once(es: Elasticsearch, prefix: str, receiver: Receiver) -> None:
    es.indices.refresh(index=f"{prefix}*")
    articles = es.search(index=f"{prefix}articles", query={"match_all": {}}, size=10)["hits"]["hits"]
    assert len(articles) == 1, [a["_source"]["url"] for a in articles]
    alerts = es.search(index=f"{prefix}wirewatch-alerts", query={"match_all": {}}, size=10)["hits"]["hits"]
    assert sorted(a["_source"]["group"]["id"] for a in alerts) == ["al-qaeda", "islamic-state"]
    for alert in alerts:
        assert [d["state"] for d in alert["_source"]["deliveries"]] == ["delivered"], alert["_source"]
    keys = {r.headers["Idempotency-Key"] for r in receiver.requests}
    assert keys == {a["_id"] for a in alerts}  # a resend after a crash carries the same key: receivers dedupe


def test_killed_while_fetching(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    with HoldingProxy(seed_server.base_url, hold=r"/news/.*\.html$") as proxy:
        env = pass_env(es_url, index_prefix, proxy.url, receiver.url, tmp_path)
        kill_when_held(env, proxy)
        assert not receiver.requests
        run_pass(env)
        assert_exactly_once(es, index_prefix, receiver)
        assert len(receiver.requests) == 2
        run_pass(env)  # and once more: nothing new
        assert len(receiver.requests) == 2


def test_killed_while_indexing(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    with HoldingProxy(es_url, hold=r"/_bulk") as proxy:
        env = pass_env(proxy.url, index_prefix, seed_server.base_url, receiver.url, tmp_path)
        kill_when_held(env, proxy)
        run_pass(env)
        assert_exactly_once(es, index_prefix, receiver)
        assert len(receiver.requests) == 2


def test_killed_while_delivering(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    with HoldingProxy(receiver.url.rsplit("/", 1)[0], hold=r"/hook") as proxy:
        env = pass_env(es_url, index_prefix, seed_server.base_url, proxy.url + "/hook", tmp_path)
        kill_when_held(env, proxy)
        run_pass(env)
        assert_exactly_once(es, index_prefix, receiver)
        # The POSTs in flight at the kill (up to delivery_parallel at once) reached the receiver, and the next
        # pass sent them again with the same Idempotency-Key: two keys, each sent at most twice.
        assert 2 <= len(receiver.requests) <= 4


# The streaming engine runs the stages at once: kill the long-running service (`wirewatch run`) too, while a
# micro-batch is being written and while its alerts are being matched, then run a pass.
def test_service_killed_while_indexing(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    with HoldingProxy(es_url, hold=r"/_bulk") as proxy:
        env = pass_env(proxy.url, index_prefix, seed_server.base_url, receiver.url, tmp_path)
        kill_when_held(env, proxy, ("run",))
        run_pass(env)
        assert_exactly_once(es, index_prefix, receiver)
        assert len(receiver.requests) == 2


def test_service_killed_while_matching(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    with HoldingProxy(es_url, hold=r"/_msearch") as proxy:
        env = pass_env(proxy.url, index_prefix, seed_server.base_url, receiver.url, tmp_path)
        kill_when_held(env, proxy, ("run",))
        assert not receiver.requests
        run_pass(env)  # the article is indexed already: the reconcile (since the checkpoint) raises its alerts
        assert_exactly_once(es, index_prefix, receiver)
        assert len(receiver.requests) == 2
