"""``wirewatch run`` (a real process) takes up what waits while it runs, with nothing new to wake it: a webhook
that answered 503 and recovered, a scheduled digest that came due, the claims of a runner killed with -9, and
articles indexed with NER off (read back from the index, and counted in the health line). And reading NER's
backlog from the index leaves out a bounded list of ids, not every id it ever read (a real HTTP proxy in
front of the node records the requests)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from search.alerting import digests as digest_store
from search.names import IndexNames
from seeds.server import SeedServer
from tests.support.alerting import Receiver, article, sent_alert_ids, setup_store
from tests.support.flow import feed_list, wait_until
from tests.support.proxy import HoldingProxy
from tests.support.seed_corpus import ALERTS, ARTICLES, MESSAGES
from tests.test_crash_recovery import WIREWATCH, kill_when_held, pass_env
from tests.test_sent_once import states
from tests.test_service_stop import Service

pytestmark = pytest.mark.slow


def stop(service: Service) -> None:
    service.sigterm()
    assert service.exited_within(60) == 0, service.stderr[-3000:]


def test_a_503_is_retried_and_a_digest_sent_when_due_while_the_service_idles(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, tmp_path: Path
) -> None:
    names = IndexNames(prefix=index_prefix)
    hook, digests = Receiver(statuses=[503], retry_after="3"), Receiver()
    try:
        env = {**pass_env(es_url, index_prefix, seed_server.base_url, hook.url, tmp_path),
               "WIREWATCH_DELIVERY_MAX_ATTEMPTS": "1"}  # fmt: skip
        channels = yaml.safe_load(Path(env["WIREWATCH_CHANNELS_FILE"]).read_text())
        channels["channels"].append(
            {"name": "digest", "type": "webhook", "url": digests.url, "digest": {"every": "hourly"}}
        )
        Path(env["WIREWATCH_CHANNELS_FILE"]).write_text(yaml.safe_dump(channels))
        service = Service(env)
        try:
            assert wait_until(lambda: len(hook.requests) >= 1, timeout=180), service.stderr[-2000:]
            # the digest comes due a few seconds from now (its schedule would say: at the next hour)
            state = digest_store.digest_state(es, names, "digest", first_due=datetime.now(UTC) + timedelta(hours=1))
            due = datetime.now(UTC) + timedelta(seconds=4)
            assert digest_store.finish(es, names, state, next_due=due, sent_at=None, listed=0) is not None
            # nothing new arrives: the service retries the webhook after its Retry-After, then sends the digest
            assert wait_until(lambda: states(es, index_prefix, "hook") == ["delivered"] * ALERTS, timeout=60)
            assert wait_until(lambda: len(digests.requests) == 1, timeout=60), service.stderr[-2000:]
            payload = json.loads(digests.requests[0].body)
            assert wait_until(lambda: states(es, index_prefix, "digest").count("delivered") == payload["stories"])
        finally:
            stop(service)
    finally:
        hook.stop()
        digests.stop()
    assert {r.headers["Idempotency-Key"] for r in hook.requests[1:]} == {
        r.headers["Idempotency-Key"] for r in hook.requests
    }  # the 503'd message was sent again, each other once
    assert len(hook.requests) == MESSAGES + 1 and len(digests.requests) == 1


def test_claims_of_a_runner_killed_with_9_are_delivered_once_they_lapse(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    with HoldingProxy(receiver.url.rsplit("/", 1)[0], hold=r"/hook") as proxy:
        env = pass_env(es_url, index_prefix, seed_server.base_url, proxy.url + "/hook", tmp_path)
        kill_when_held(env, proxy)  # a pass killed while sending: its claims stand until they lapse
        assert "delivered" not in states(es, index_prefix, "hook")
        service = Service(env)
        try:
            assert wait_until(lambda: states(es, index_prefix, "hook") == ["delivered"] * ALERTS, timeout=90), (
                states(es, index_prefix, "hook"),
                service.stderr[-2000:],
            )
        finally:
            stop(service)
    assert set(sent_alert_ids(receiver.requests)) == set(
        h["_id"] for h in es.search(index=f"{index_prefix}wirewatch-alerts", size=50)["hits"]["hits"]
    )


def test_articles_indexed_with_ner_off_are_tagged_while_the_service_runs_and_counted(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    env = pass_env(es_url, index_prefix, seed_server.base_url, receiver.url, tmp_path)
    first = subprocess.run([WIREWATCH, "ingest", "--once"], env={**env, "WIREWATCH_NER_ENABLED": "false"},
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert first.returncode in (0, 3), first.stdout[-3000:]

    def waiting() -> int:
        es.indices.refresh(index=f"{index_prefix}articles")
        return int(es.count(index=f"{index_prefix}articles", query={"term": {"ner_done": False}})["count"])

    assert waiting() == ARTICLES
    service = Service(env, ner=True, health_every="0.5")
    try:
        assert wait_until(lambda: waiting() == 0, timeout=180), service.stderr[-2000:]
        assert wait_until(lambda: service.said("backlog 0", since=service.said(f"backlog {ARTICLES}") or 0.0))
    finally:
        stop(service)


def test_reading_the_ner_backlog_leaves_out_a_bounded_list(
    es: Elasticsearch, es_url: str, index_prefix: str, receiver: Receiver, tmp_path: Path
) -> None:
    names = setup_store(es, IndexNames(prefix=index_prefix))
    count = 24
    text = "Officials in {} met the delegation of the regional council on Tuesday to discuss the harbour."
    docs = [article(f"a{n:03d}", title=f"Story {n}", text=text.format(f"Town{n}")) for n in range(count)]
    for doc in docs:
        doc["indexed_at"] = datetime.now(UTC).isoformat()  # indexed by an earlier runner with NER off
    bulk(es, [{"_index": names.articles, "_id": d["id"], "_source": d} for d in docs], refresh=True)
    with HoldingProxy(es_url) as cluster:
        env = {
            **pass_env(cluster.url, index_prefix, "http://127.0.0.1:9", receiver.url, tmp_path),
            "WIREWATCH_FEEDS_FILE": str(feed_list(tmp_path / "feeds.yaml", {})),
            "WIREWATCH_NER_BATCH_SIZE": "2",  # refills of 2 batches x 2 consumers: many of them
        }
        done = subprocess.run([WIREWATCH, "ingest", "--once"], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:]
    es.indices.refresh(index=names.articles)
    assert es.count(index=names.articles, query={"term": {"ner_done": False}})["count"] == 0
    left_out = [
        len(re.findall(r'"a\d{3}"', body.decode()))
        for path, body in cluster.bodies
        if "/_search" in path and b'"ner_done"' in body and b'"indexed_at"' in body
    ]
    assert len(left_out) >= count // 4  # read back in many small refills...
    assert max(left_out) <= 8  # ...each leaving out what is queued or being tagged, never all it read before
